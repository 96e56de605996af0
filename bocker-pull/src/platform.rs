//! The os/architecture/variant an image is chosen for, from a manifest list or index.
//!
//! Variants are ranked as containerd's platform matcher ranks them: a host (or an asked
//! `os/arch/variant`) accepts its own variant and every older one it can run, best
//! first, then an entry without a variant. amd64 levels come from the x86-64 psABI
//! microarchitecture levels (v2: SSE4.2/POPCNT/CX16; v3: AVX2/BMI/FMA/MOVBE; v4:
//! AVX-512 F/BW/CD/DQ/VL), detected with CPUID, so a `linux/amd64/v4` image is never
//! chosen on a CPU without AVX-512 (it would die with SIGILL).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
}

/// The highest x86-64 microarchitecture level (1–4) whose features `has` reports.
/// `has` takes Rust's `is_x86_feature_detected!` names (injected for tests).
pub fn amd64_level(has: &dyn Fn(&str) -> bool) -> u8 {
    let all = |fs: &[&str]| fs.iter().all(|f| has(f));
    let v2 = ["cmpxchg16b", "popcnt", "sse3", "sse4.1", "sse4.2", "ssse3"];
    let v3 = [
        "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave",
    ];
    let v4 = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"];
    match (all(&v2), all(&v3), all(&v4)) {
        (true, true, true) => 4,
        (true, true, false) => 3,
        (true, false, _) => 2,
        _ => 1,
    }
}

/// This CPU's features, by `is_x86_feature_detected!` name (which also checks that the
/// kernel saves the AVX/AVX-512 registers).
#[cfg(target_arch = "x86_64")]
fn cpu_has(f: &str) -> bool {
    match f {
        "cmpxchg16b" => std::is_x86_feature_detected!("cmpxchg16b"),
        "popcnt" => std::is_x86_feature_detected!("popcnt"),
        "sse3" => std::is_x86_feature_detected!("sse3"),
        "sse4.1" => std::is_x86_feature_detected!("sse4.1"),
        "sse4.2" => std::is_x86_feature_detected!("sse4.2"),
        "ssse3" => std::is_x86_feature_detected!("ssse3"),
        "avx" => std::is_x86_feature_detected!("avx"),
        "avx2" => std::is_x86_feature_detected!("avx2"),
        "bmi1" => std::is_x86_feature_detected!("bmi1"),
        "bmi2" => std::is_x86_feature_detected!("bmi2"),
        "f16c" => std::is_x86_feature_detected!("f16c"),
        "fma" => std::is_x86_feature_detected!("fma"),
        "lzcnt" => std::is_x86_feature_detected!("lzcnt"),
        "movbe" => std::is_x86_feature_detected!("movbe"),
        "xsave" => std::is_x86_feature_detected!("xsave"),
        "avx512f" => std::is_x86_feature_detected!("avx512f"),
        "avx512bw" => std::is_x86_feature_detected!("avx512bw"),
        "avx512cd" => std::is_x86_feature_detected!("avx512cd"),
        "avx512dq" => std::is_x86_feature_detected!("avx512dq"),
        "avx512vl" => std::is_x86_feature_detected!("avx512vl"),
        _ => false,
    }
}

/// The ARM architecture version of this CPU (5–8) from `/proc/cpuinfo`, 7 if unknown.
#[cfg(target_arch = "arm")]
fn arm_version() -> u8 {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("CPU architecture"))
                .and_then(|l| l.split(':').nth(1))
                .and_then(|v| v.trim().chars().next())
                .and_then(|c| c.to_digit(10))
        })
        .map_or(7, |v| v.clamp(5, 8) as u8)
}

impl Platform {
    /// This machine's platform, named as Go and the OCI spec name it, with the variant
    /// this CPU supports (amd64 `v1`–`v4` from CPUID, `arm` `v5`–`v8`, `arm64` `v8`).
    pub fn host() -> Platform {
        let (architecture, variant): (&str, Option<String>) = match std::env::consts::ARCH {
            #[cfg(target_arch = "x86_64")]
            "x86_64" => ("amd64", Some(format!("v{}", amd64_level(&cpu_has)))),
            "aarch64" => ("arm64", Some("v8".into())),
            "x86" => ("386", None),
            #[cfg(target_arch = "arm")]
            "arm" => ("arm", Some(format!("v{}", arm_version()))),
            "powerpc64" => ("ppc64le", None),
            other => (other, None),
        };
        Platform {
            os: "linux".into(),
            architecture: architecture.into(),
            variant,
        }
    }

    /// Parse `os/arch[/variant]` as given to `--platform`. Without a variant, the host's
    /// own variant is used when the architecture is the host's (so `linux/amd64` on a
    /// v3 CPU takes the best of v3, v2, v1), else the architecture's baseline.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut it = s.split('/');
        let os = it.next().filter(|x| !x.is_empty())?;
        let arch = it.next().filter(|x| !x.is_empty())?;
        let variant = it.next().map(str::to_string);
        if it.next().is_some() || variant.as_deref() == Some("") {
            return None;
        }
        let host = Platform::host();
        let variant = variant.or_else(|| {
            (host.os == os && host.architecture == arch)
                .then_some(host.variant)
                .flatten()
        });
        Some(Platform {
            os: os.into(),
            architecture: arch.into(),
            variant,
        })
    }

    /// The variants an index entry may carry to serve us, best first; `None` is an
    /// entry without a variant. An empty list means any variant (an architecture with
    /// no ranking and no variant asked).
    pub fn ranked_variants(&self) -> Vec<Option<String>> {
        let level = |prefix: char, default: u32| {
            self.variant
                .as_deref()
                .and_then(|v| v.strip_prefix(prefix))
                .and_then(|n| n.parse::<u32>().ok())
                .unwrap_or(default)
        };
        let down = |top: u32, low: u32| -> Vec<Option<String>> {
            (low..=top)
                .rev()
                .map(|n| Some(format!("v{n}")))
                .chain(std::iter::once(None))
                .collect()
        };
        match (self.architecture.as_str(), self.variant.as_deref()) {
            ("amd64", _) => down(level('v', 1).clamp(1, 4), 1),
            ("arm", _) => down(level('v', 7).clamp(5, 8), 5),
            ("arm64", None | Some("v8")) => vec![Some("v8".into()), None],
            (_, Some(v)) => vec![Some(v.to_string())],
            (_, None) => Vec::new(),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level_with(features: &[&str]) -> u8 {
        amd64_level(&|f| features.contains(&f))
    }

    const V2: [&str; 6] = ["cmpxchg16b", "popcnt", "sse3", "sse4.1", "sse4.2", "ssse3"];
    const V3: [&str; 9] = [
        "avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "lzcnt", "movbe", "xsave",
    ];
    const V4: [&str; 5] = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"];

    #[test]
    fn amd64_levels_from_cpu_features() {
        assert_eq!(level_with(&[]), 1);
        assert_eq!(level_with(&V2), 2);
        assert_eq!(level_with(&[&V2[..], &V3[..]].concat()), 3);
        assert_eq!(level_with(&[&V2[..], &V3[..], &V4[..]].concat()), 4);
        // AVX-512 without AVX2 and friends is still v2 (levels are cumulative).
        assert_eq!(level_with(&[&V2[..], &V4[..]].concat()), 2);
        // One missing AVX-512 subset: v3.
        assert_eq!(level_with(&[&V2[..], &V3[..], &V4[..4]].concat()), 3);
    }

    #[test]
    fn variants_rank_best_first() {
        let p = |s: &str| Platform {
            os: "linux".into(),
            architecture: s.split('/').next().unwrap().into(),
            variant: s.split('/').nth(1).map(Into::into),
        };
        let names = |p: Platform| -> Vec<String> {
            p.ranked_variants()
                .into_iter()
                .map(|v| v.unwrap_or_else(|| "-".into()))
                .collect()
        };
        assert_eq!(names(p("amd64/v3")), ["v3", "v2", "v1", "-"]);
        assert_eq!(names(p("amd64")), ["v1", "-"]);
        assert_eq!(names(p("arm/v7")), ["v7", "v6", "v5", "-"]);
        assert_eq!(names(p("arm/v6")), ["v6", "v5", "-"]);
        assert_eq!(names(p("arm64")), ["v8", "-"]);
        assert_eq!(names(p("s390x")), Vec::<String>::new());
        assert_eq!(names(p("riscv64/rva23")), ["rva23"]);
    }
}
