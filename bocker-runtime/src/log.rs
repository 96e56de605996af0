//! runc's `--log` and `--log-format`: where a runtime's errors go besides stderr.
//!
//! containerd's runc shim passes `--log <bundle>/log.json --log-format json` and, when a
//! command fails, reads the last `"msg"` of that file into the error it returns. Lines are
//! logrus's: text `time="…" level=error msg="…"`, or JSON
//! `{"level":"error","msg":"…","time":"…"}` (RFC 3339, UTC). `--debug` adds `debug`
//! lines; without `--log` they go to stderr, as runc's.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

/// runc's `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// logrus text lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where and how to log (from the global flags).
#[derive(Debug, Clone)]
pub struct Logger {
    /// `--log`: appended to; `None` means stderr for debug lines, nothing for errors
    /// (which stderr already shows).
    pub path: Option<PathBuf>,
    pub format: Format,
    /// `--debug`: write debug lines too.
    pub debug: bool,
}

impl Logger {
    /// Logs `msg` at level `error`.
    pub fn error(&self, msg: &str) {
        if self.path.is_some() {
            self.write("error", msg);
        }
    }

    /// Logs `msg` at level `debug` when `--debug` was given.
    pub fn debug(&self, msg: &str) {
        if self.debug {
            self.write("debug", msg);
        }
    }

    fn write(&self, level: &str, msg: &str) {
        let line = line(self.format, level, msg, SystemTime::now());
        let written = match &self.path {
            Some(p) => OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .and_then(|mut f| f.write_all(line.as_bytes())),
            None => std::io::stderr().lock().write_all(line.as_bytes()),
        };
        // Logging must never turn a result into another: a log that cannot be written is
        // reported once on stderr and otherwise ignored.
        if let Err(e) = written {
            eprintln!("bocker-runtime: cannot write log: {e}");
        }
    }
}

/// One log line, newline-terminated.
pub fn line(format: Format, level: &str, msg: &str, at: SystemTime) -> String {
    let time = humantime::format_rfc3339_seconds(at).to_string();
    match format {
        Format::Json => {
            let v = serde_json::json!({"level": level, "msg": msg, "time": time});
            format!("{v}\n")
        }
        Format::Text => {
            // Go's %q: a quoted string with escapes; JSON string escaping is the same for
            // the characters that matter (quotes, backslashes, control characters).
            let q = serde_json::Value::from(msg).to_string();
            format!("time=\"{time}\" level={level} msg={q}\n")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_796_000_000)
    }

    #[test]
    fn json_lines_are_what_containerd_reads() {
        let l = line(
            Format::Json,
            "error",
            "container \"x\" does not exist",
            at(),
        );
        let v: serde_json::Value = serde_json::from_str(l.trim_end()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container \"x\" does not exist");
        assert!(v["time"].as_str().unwrap().ends_with('Z'));
        assert!(l.ends_with('\n') && l.matches('\n').count() == 1);
    }

    #[test]
    fn text_lines_are_logrus_shaped() {
        let l = line(Format::Text, "error", "a \"b\"\nc", at());
        assert!(l.starts_with("time=\"20"), "{l}");
        assert!(l.ends_with(" level=error msg=\"a \\\"b\\\"\\nc\"\n"), "{l}");
    }

    #[test]
    fn errors_append_to_the_log_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.json");
        let log = Logger {
            path: Some(path.clone()),
            format: Format::Json,
            debug: false,
        };
        log.debug("not written");
        log.error("one");
        log.error("two");
        let text = std::fs::read_to_string(&path).unwrap();
        let msgs: Vec<String> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["msg"].to_string())
            .collect();
        assert_eq!(msgs, ["\"one\"", "\"two\""]);
    }
}
