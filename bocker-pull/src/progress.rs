//! Per-layer progress on stderr: bars on a terminal, plain lines otherwise.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub trait Progress: Send + Sync {
    /// Layer `i` (short digest `id`) starts downloading `total` bytes.
    fn start(&self, i: usize, id: &str, total: u64);
    /// Layer `i` starts, its size unknown until it ends (a blob written as it is sent).
    fn start_unsized(&self, i: usize, id: &str) {
        self.start(i, id, 0);
    }
    fn advance(&self, i: usize, bytes: u64);
    /// Layer `i` is finished: `what` is "Pull complete", "Already exists", ...
    fn done(&self, i: usize, id: &str, what: &str);
    /// A line of information (not on stdout).
    fn note(&self, msg: &str);
}

/// Pick bars when stderr is a terminal and `quiet` is off, plain lines otherwise.
pub fn for_stderr(layers: usize, quiet: bool) -> Box<dyn Progress> {
    with_word(layers, quiet, "Downloading")
}

/// As [`for_stderr`], for a push: plain lines say `Pushing`.
pub fn for_push(layers: usize, quiet: bool) -> Box<dyn Progress> {
    with_word(layers, quiet, "Pushing")
}

fn with_word(layers: usize, quiet: bool, word: &'static str) -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() && !quiet {
        Box::new(Bars::new(layers))
    } else {
        Box::new(Lines { quiet, word })
    }
}

pub struct Lines {
    quiet: bool,
    /// What a layer's first line says it is doing (`Downloading`, `Pushing`).
    word: &'static str,
}

impl Lines {
    /// Says nothing (for passes whose progress was already shown).
    pub fn silent() -> Lines {
        Lines {
            quiet: true,
            word: "",
        }
    }
}

impl Progress for Lines {
    fn start(&self, _: usize, id: &str, total: u64) {
        if !self.quiet {
            eprintln!("{id}: {} {:.1} MB", self.word, total as f64 / 1e6);
        }
    }
    fn start_unsized(&self, _: usize, id: &str) {
        if !self.quiet {
            eprintln!("{id}: {}", self.word);
        }
    }
    fn advance(&self, _: usize, _: u64) {}
    fn done(&self, _: usize, id: &str, what: &str) {
        if !self.quiet {
            eprintln!("{id}: {what}");
        }
    }
    fn note(&self, msg: &str) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}

pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<Vec<Option<ProgressBar>>>,
}

impl Bars {
    fn new(layers: usize) -> Bars {
        Bars {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(vec![None; layers]),
        }
    }

    fn with(&self, i: usize, f: impl FnOnce(&ProgressBar)) {
        if let Ok(b) = self.bars.lock() {
            if let Some(Some(bar)) = b.get(i) {
                f(bar);
            }
        }
    }
}

impl Bars {
    fn add(&self, i: usize, id: &str, bar: ProgressBar, template: &str) {
        let bar = self.multi.add(bar);
        let style =
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(id.to_string());
        if let Ok(mut b) = self.bars.lock() {
            if let Some(slot) = b.get_mut(i) {
                *slot = Some(bar);
            }
        }
    }
}

impl Progress for Bars {
    fn start(&self, i: usize, id: &str, total: u64) {
        self.add(
            i,
            id,
            ProgressBar::new(total),
            "{prefix}: {wide_bar} {bytes}/{total_bytes} {bytes_per_sec}",
        );
    }
    fn start_unsized(&self, i: usize, id: &str) {
        let bar = ProgressBar::new_spinner();
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        self.add(i, id, bar, "{prefix}: {spinner} {bytes} {bytes_per_sec}");
    }
    fn advance(&self, i: usize, bytes: u64) {
        self.with(i, |b| b.inc(bytes));
    }
    fn done(&self, i: usize, id: &str, what: &str) {
        let mut shown = false;
        self.with(i, |b| {
            b.set_style(
                ProgressStyle::with_template("{prefix}: {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.finish_with_message(what.to_string());
            shown = true;
        });
        if !shown {
            let _ = self.multi.println(format!("{id}: {what}"));
        }
    }
    fn note(&self, msg: &str) {
        let _ = self.multi.println(msg);
    }
}
