//! The functions a template can call: Go's builtins that `--format` users reach for
//! (`index`, `len`, `printf`, `print`, `println`, `eq`, `ne`, `lt`, `le`, `gt`, `ge`,
//! `and`, `or`, `not`) and Docker's (`json`, `join`, `split`, `lower`, `upper`, `title`,
//! `truncate`, `pad`), with Docker's meanings (docker/cli templates package).

use serde_json::Value;

use crate::exec::{print, truth};
use crate::Error;

/// Calls `name` with `args` (a piped value is the last argument).
pub fn call(name: &str, args: &[Value]) -> Result<Value, Error> {
    let s = |i: usize| -> Result<String, Error> {
        args.get(i)
            .map(print)
            .ok_or_else(|| Error::Exec(format!("{name}: missing argument {}", i + 1)))
    };
    let n = |i: usize| -> Result<i64, Error> {
        args.get(i)
            .and_then(Value::as_i64)
            .ok_or_else(|| Error::Exec(format!("{name}: argument {} is not an integer", i + 1)))
    };
    Ok(match name {
        "json" => Value::String(
            serde_json::to_string(args.first().unwrap_or(&Value::Null))
                .map_err(|e| Error::Exec(e.to_string()))?,
        ),
        "join" => match args.first() {
            Some(Value::Array(a)) => {
                Value::String(a.iter().map(print).collect::<Vec<_>>().join(&s(1)?))
            }
            Some(v) => Value::String(print(v)),
            None => return Err(Error::Exec("join: missing argument 1".into())),
        },
        "split" => Value::Array(
            s(0)?
                .split(s(1)?.as_str())
                .map(|p| Value::String(p.to_string()))
                .collect(),
        ),
        "lower" => Value::String(s(0)?.to_lowercase()),
        "upper" => Value::String(s(0)?.to_uppercase()),
        "title" => Value::String(title(&s(0)?)),
        "truncate" => Value::String(s(0)?.chars().take(n(1)?.max(0) as usize).collect()),
        "pad" => Value::String(format!(
            "{}{}{}",
            " ".repeat(n(1)?.max(0) as usize),
            s(0)?,
            " ".repeat(n(2)?.max(0) as usize)
        )),
        "len" => Value::from(match args.first() {
            Some(Value::Array(a)) => a.len(),
            Some(Value::Object(m)) => m.len(),
            Some(Value::String(t)) => t.len(),
            _ => return Err(Error::Exec("len of a value without length".into())),
        }),
        "index" => {
            let mut cur = args.first().cloned().unwrap_or(Value::Null);
            for key in &args[1.min(args.len())..] {
                cur = match (&cur, key) {
                    (Value::Array(a), k) => k
                        .as_u64()
                        .and_then(|i| a.get(i as usize))
                        .cloned()
                        .ok_or_else(|| Error::Exec(format!("index out of range: {}", print(k))))?,
                    // A missing map key gives the zero value, as in Go.
                    (Value::Object(m), k) => m.get(&print(k)).cloned().unwrap_or(Value::Null),
                    (Value::Null, _) => Value::Null,
                    (v, _) => {
                        return Err(Error::Exec(format!(
                            "can't index item of type {}",
                            print(v)
                        )))
                    }
                };
            }
            cur
        }
        "print" => Value::String(go_print(args)),
        "println" => Value::String(format!(
            "{}\n",
            args.iter().map(print).collect::<Vec<_>>().join(" ")
        )),
        "printf" => Value::String(printf(&s(0)?, &args[1..])),
        "not" => Value::Bool(!truth(args.first().unwrap_or(&Value::Null))),
        "and" => args
            .iter()
            .find(|a| !truth(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "or" => args
            .iter()
            .find(|a| truth(a))
            .or(args.last())
            .cloned()
            .unwrap_or(Value::Null),
        "eq" => {
            let first = args.first().unwrap_or(&Value::Null);
            Value::Bool(args[1.min(args.len())..].iter().any(|a| same(first, a)))
        }
        "ne" => Value::Bool(!same(
            args.first().unwrap_or(&Value::Null),
            args.get(1).unwrap_or(&Value::Null),
        )),
        "lt" | "le" | "gt" | "ge" => {
            let (a, b) = (
                args.first().unwrap_or(&Value::Null),
                args.get(1).unwrap_or(&Value::Null),
            );
            let ord = match (a.as_f64(), b.as_f64()) {
                (Some(x), Some(y)) => x.partial_cmp(&y),
                _ => Some(print(a).cmp(&print(b))),
            }
            .ok_or_else(|| Error::Exec(format!("{name}: incomparable values")))?;
            Value::Bool(match name {
                "lt" => ord.is_lt(),
                "le" => ord.is_le(),
                "gt" => ord.is_gt(),
                _ => ord.is_ge(),
            })
        }
        _ => return Err(Error::Exec(format!("function \"{name}\" not defined"))),
    })
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Go's `print`: spaces only between operands when neither is a string.
fn go_print(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !a.is_string() && !args[i - 1].is_string() {
            out.push(' ');
        }
        out.push_str(&print(a));
    }
    out
}

/// Capitalises the first letter of every word (Docker's `title`).
fn title(s: &str) -> String {
    let mut out = String::new();
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    out
}

/// Go's `fmt.Sprintf` for the verbs templates use: `%v %s %d %q %t %f %x %%`, with `-`,
/// `0` and width/precision.
pub fn printf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut args = args.iter();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (mut left, mut zero) = (false, false);
        while let Some(&f) = chars.peek() {
            match f {
                '-' => left = true,
                '0' => zero = true,
                '+' | ' ' | '#' => {}
                _ => break,
            }
            chars.next();
        }
        let mut width = String::new();
        while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
            width.push(d);
            chars.next();
        }
        let mut prec: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                p.push(d);
                chars.next();
            }
            prec = Some(p.parse().unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.next() else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        let mut text = match verb {
            'q' => serde_json::to_string(&print(arg)).unwrap_or_default(),
            'f' => match (arg.as_f64(), prec) {
                (Some(x), Some(p)) => format!("{x:.p$}"),
                (Some(x), None) => format!("{x:.6}"),
                _ => format!("%!f({})", print(arg)),
            },
            'x' => match arg.as_i64() {
                Some(n) => format!("{n:x}"),
                None => print(arg).bytes().map(|b| format!("{b:02x}")).collect(),
            },
            'd' => match arg.as_i64() {
                Some(n) => n.to_string(),
                None => format!("%!d({})", print(arg)),
            },
            _ => print(arg),
        };
        if let (Some(p), 's' | 'v') = (prec, verb) {
            text = text.chars().take(p).collect();
        }
        let width: usize = width.parse().unwrap_or(0);
        let pad = width.saturating_sub(text.chars().count());
        if left {
            out.push_str(&text);
            out.push_str(&" ".repeat(pad));
        } else {
            out.push_str(&(if zero { "0" } else { " " }).repeat(pad));
            out.push_str(&text);
        }
    }
    for extra in args {
        out.push_str(&format!("%!(EXTRA {})", print(extra)));
    }
    out
}
