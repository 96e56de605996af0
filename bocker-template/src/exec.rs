//! Executing a parsed template over a JSON value with Go's rules: truthiness, `%v`
//! printing of values, `range` over arrays and (key-sorted) objects, variables.

use serde_json::Value;

use crate::funcs;
use crate::parse::{Node, Pipeline, Term};
use crate::Error;

/// Variables in scope, innermost last; `$` is the root.
pub struct Scope<'a> {
    vars: Vec<(String, Value)>,
    out: &'a mut String,
}

/// Runs `nodes` with dot `dot`, appending to `out`.
pub fn run(nodes: &[Node], dot: &Value, out: &mut String) -> Result<(), Error> {
    let mut scope = Scope {
        vars: vec![(String::new(), dot.clone())],
        out,
    };
    scope.nodes(nodes, dot)
}

impl Scope<'_> {
    fn nodes(&mut self, nodes: &[Node], dot: &Value) -> Result<(), Error> {
        for n in nodes {
            self.node(n, dot)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &Node, dot: &Value) -> Result<(), Error> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(p) => {
                let v = self.pipeline(p, dot)?;
                self.out.push_str(&print(&v));
            }
            Node::If {
                pipe,
                then,
                otherwise,
            } => {
                if truth(&self.pipeline(pipe, dot)?) {
                    self.nodes(then, dot)?;
                } else {
                    self.nodes(otherwise, dot)?;
                }
            }
            Node::With {
                pipe,
                body,
                otherwise,
            } => {
                let v = self.pipeline(pipe, dot)?;
                if truth(&v) {
                    self.nodes(body, &v)?;
                } else {
                    self.nodes(otherwise, dot)?;
                }
            }
            Node::Range {
                vars,
                pipe,
                body,
                empty,
            } => {
                let items: Vec<(Value, Value)> = match self.pipeline(pipe, dot)? {
                    Value::Array(a) => a
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (Value::from(i), v))
                        .collect(),
                    // serde_json keeps keys sorted, as Go ranges over a map.
                    Value::Object(m) => m.into_iter().map(|(k, v)| (Value::String(k), v)).collect(),
                    Value::Null => Vec::new(),
                    other => {
                        return Err(Error::Exec(format!(
                            "range can't iterate over {}",
                            print(&other)
                        )))
                    }
                };
                if items.is_empty() {
                    return self.nodes(empty, dot);
                }
                let depth = self.vars.len();
                for (k, v) in items {
                    self.vars.truncate(depth);
                    match vars.as_slice() {
                        [] => {}
                        [one] => self.vars.push((one.clone(), v.clone())),
                        [a, b, ..] => {
                            self.vars.push((a.clone(), k));
                            self.vars.push((b.clone(), v.clone()));
                        }
                    }
                    self.nodes(body, &v)?;
                }
                self.vars.truncate(depth);
            }
        }
        Ok(())
    }

    fn pipeline(&mut self, pipe: &Pipeline, dot: &Value) -> Result<Value, Error> {
        let mut last: Option<Value> = None;
        for cmd in pipe {
            let (head, rest) = cmd
                .split_first()
                .ok_or_else(|| Error::Exec("empty command".into()))?;
            let mut args = rest
                .iter()
                .map(|t| self.term(t, dot))
                .collect::<Result<Vec<_>, _>>()?;
            let v = match head {
                Term::Ident(f) => {
                    args.extend(last.take());
                    funcs::call(f, &args)?
                }
                t => {
                    if !args.is_empty() || last.is_some() {
                        return Err(Error::Exec("can't give arguments to a non-function".into()));
                    }
                    self.term(t, dot)?
                }
            };
            last = Some(v);
        }
        last.ok_or_else(|| Error::Exec("empty pipeline".into()))
    }

    fn term(&mut self, t: &Term, dot: &Value) -> Result<Value, Error> {
        Ok(match t {
            Term::Dot(fields) => walk(dot, fields)?,
            Term::Var(name, fields) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| Error::Exec(format!("undefined variable ${name}")))?;
                walk(&v, fields)?
            }
            Term::Ident(f) => funcs::call(f, &[])?,
            Term::Str(s) => Value::String(s.clone()),
            Term::Int(n) => Value::from(*n),
            Term::Float(x) => Value::from(*x),
            Term::Bool(b) => Value::Bool(*b),
            Term::Sub(p, fields) => {
                let v = self.pipeline(p, dot)?;
                walk(&v, fields)?
            }
        })
    }
}

/// `v.A.B…`. A key is found as written, else ignoring case and underscores, so
/// `.StartedAt` reads a record's `started_at`. A missing key is an error, as for
/// Docker's typed contexts ("can't evaluate field").
fn walk(v: &Value, fields: &[String]) -> Result<Value, Error> {
    let mut cur = v;
    for f in fields {
        let Value::Object(map) = cur else {
            return Err(Error::Exec(format!(
                "can't evaluate field {f} in {}",
                kind(cur)
            )));
        };
        let norm = |s: &str| s.replace('_', "").to_ascii_lowercase();
        cur = match map.get(f) {
            Some(x) => x,
            None => map
                .iter()
                .find(|(k, _)| norm(k) == norm(f))
                .map(|(_, x)| x)
                .ok_or_else(|| Error::Exec(format!("can't evaluate field {f}")))?,
        };
    }
    Ok(cur.clone())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

/// Go's truth: false, 0, nil and empty strings, slices and maps are false.
pub fn truth(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// A value as Go's `%v` prints it: strings bare, slices `[a b]`, maps `map[k:v]`
/// (keys sorted), nil `<nil>`.
pub fn print(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(print).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{k}:{}", print(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}
