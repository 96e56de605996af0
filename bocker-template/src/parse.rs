//! Template text to a tree: text, `{{pipeline}}`, `{{range}}`, `{{if}}`, `{{with}}`,
//! `{{else}}`, `{{end}}`, with Go's `{{-`/`-}}` whitespace trimming.

use crate::Error;

/// One node of a parsed template.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Text(String),
    /// `{{pipeline}}`: print its value.
    Action(Pipeline),
    /// `{{range [$k, $v :=] pipeline}}body{{else}}empty{{end}}`.
    Range {
        vars: Vec<String>,
        pipe: Pipeline,
        body: Vec<Node>,
        empty: Vec<Node>,
    },
    /// `{{if pipeline}}then{{else}}otherwise{{end}}` (`{{else if …}}` nests).
    If {
        pipe: Pipeline,
        then: Vec<Node>,
        otherwise: Vec<Node>,
    },
    /// `{{with pipeline}}body{{else}}otherwise{{end}}`: dot is the value when not empty.
    With {
        pipe: Pipeline,
        body: Vec<Node>,
        otherwise: Vec<Node>,
    },
}

/// Commands joined by `|`; each command's value is the last argument of the next.
pub type Pipeline = Vec<Command>;

/// A function and its arguments, or a single operand.
pub type Command = Vec<Term>;

/// An operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// `.`, `.A.B`: fields of dot.
    Dot(Vec<String>),
    /// `$`, `$x`, `$x.A`: a variable and fields of it.
    Var(String, Vec<String>),
    /// A function name.
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// `(pipeline)` and fields of its value.
    Sub(Pipeline, Vec<String>),
}

/// Parses `src` into nodes.
pub fn parse(src: &str) -> Result<Vec<Node>, Error> {
    let tokens = split(src)?;
    let mut pos = 0;
    let (nodes, stop) = block(&tokens, &mut pos)?;
    match stop {
        Stop::Eof => Ok(nodes),
        Stop::End => Err(Error::Parse("unexpected {{end}}".into())),
        Stop::Else(_) => Err(Error::Parse("unexpected {{else}}".into())),
    }
}

enum Tok {
    Text(String),
    Action(String),
}

/// Splits `src` into text and the insides of `{{ }}`, applying trim markers.
fn split(src: &str) -> Result<Vec<Tok>, Error> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while let Some(open) = rest.find("{{") {
        let mut text = &rest[..open];
        if trim_next {
            text = text.trim_start();
        }
        let mut inner = &rest[open + 2..];
        let trim_before =
            inner.starts_with("- ") || inner.starts_with("-\t") || inner.starts_with("-\n");
        if trim_before {
            text = text.trim_end();
            inner = &inner[1..];
        }
        out.push(Tok::Text(text.to_string()));
        let close = find_close(inner).ok_or_else(|| Error::Parse("unclosed action".into()))?;
        let mut action = &inner[..close];
        trim_next = action.ends_with(" -") || action.ends_with("\t-") || action.ends_with("\n-");
        if trim_next {
            action = &action[..action.len() - 1];
        }
        out.push(Tok::Action(action.trim().to_string()));
        rest = &inner[close + 2..];
    }
    out.push(Tok::Text(if trim_next {
        rest.trim_start().to_string()
    } else {
        rest.to_string()
    }));
    Ok(out)
}

/// The `}}` closing an action, skipping any inside string literals.
fn find_close(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                i += 1;
                while i < b.len() && b[i] != b'`' {
                    i += 1;
                }
            }
            b'}' if b.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

enum Stop {
    Eof,
    End,
    /// `{{else}}` or `{{else if …}}` (the text after `else`).
    Else(String),
}

fn block(tokens: &[Tok], pos: &mut usize) -> Result<(Vec<Node>, Stop), Error> {
    let mut nodes = Vec::new();
    while *pos < tokens.len() {
        let tok = &tokens[*pos];
        *pos += 1;
        let action = match tok {
            Tok::Text(t) => {
                if !t.is_empty() {
                    nodes.push(Node::Text(t.clone()));
                }
                continue;
            }
            Tok::Action(a) => a.as_str(),
        };
        if action.starts_with("/*") {
            continue; // a comment
        }
        let (word, rest) = match action.split_once(char::is_whitespace) {
            Some((w, r)) => (w, r.trim()),
            None => (action, ""),
        };
        match word {
            "end" => return Ok((nodes, Stop::End)),
            "else" => return Ok((nodes, Stop::Else(rest.to_string()))),
            "if" => nodes.push(if_node(rest, tokens, pos)?),
            "range" | "with" => {
                let (vars, pipe_src) = declarations(rest)?;
                let pipe = pipeline(pipe_src)?;
                let (body, stop) = block(tokens, pos)?;
                let otherwise = match stop {
                    Stop::End => Vec::new(),
                    Stop::Else(r) if r.is_empty() => expect_end(tokens, pos)?,
                    _ => return Err(Error::Parse(format!("unterminated {{{{{word}}}}}"))),
                };
                nodes.push(if word == "range" {
                    Node::Range {
                        vars,
                        pipe,
                        body,
                        empty: otherwise,
                    }
                } else {
                    Node::With {
                        pipe,
                        body,
                        otherwise,
                    }
                });
            }
            _ => nodes.push(Node::Action(pipeline(action)?)),
        }
    }
    Ok((nodes, Stop::Eof))
}

fn if_node(cond: &str, tokens: &[Tok], pos: &mut usize) -> Result<Node, Error> {
    let pipe = pipeline(cond)?;
    let (then, stop) = block(tokens, pos)?;
    let otherwise = match stop {
        Stop::End => Vec::new(),
        Stop::Else(r) if r.is_empty() => expect_end(tokens, pos)?,
        Stop::Else(r) => match r.strip_prefix("if ") {
            Some(c) => vec![if_node(c.trim(), tokens, pos)?],
            None => return Err(Error::Parse(format!("unexpected {{{{else {r}}}}}"))),
        },
        Stop::Eof => return Err(Error::Parse("unterminated {{if}}".into())),
    };
    Ok(Node::If {
        pipe,
        then,
        otherwise,
    })
}

fn expect_end(tokens: &[Tok], pos: &mut usize) -> Result<Vec<Node>, Error> {
    match block(tokens, pos)? {
        (nodes, Stop::End) => Ok(nodes),
        _ => Err(Error::Parse("missing {{end}}".into())),
    }
}

/// `$k, $v := pipeline` or `$v := pipeline` or `pipeline`.
fn declarations(s: &str) -> Result<(Vec<String>, &str), Error> {
    match s.split_once(":=") {
        Some((vars, pipe)) if vars.trim_start().starts_with('$') => {
            let vars = vars
                .split(',')
                .map(|v| v.trim().trim_start_matches('$').to_string())
                .collect();
            Ok((vars, pipe.trim()))
        }
        _ => Ok((Vec::new(), s)),
    }
}

/// Parses a pipeline: commands separated by `|` (outside strings and parentheses).
fn pipeline(s: &str) -> Result<Pipeline, Error> {
    let mut lexer = Lexer { s, i: 0 };
    let pipe = lexer.pipeline()?;
    if lexer.i < s.len() {
        return Err(Error::Parse(format!(
            "unexpected '{}' in {s:?}",
            &s[lexer.i..]
        )));
    }
    if pipe.is_empty() || pipe.iter().any(Vec::is_empty) {
        return Err(Error::Parse(format!("missing value in {s:?}")));
    }
    Ok(pipe)
}

struct Lexer<'a> {
    s: &'a str,
    i: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn pipeline(&mut self) -> Result<Pipeline, Error> {
        let mut pipe = vec![Vec::new()];
        loop {
            self.skip_space();
            match self.peek() {
                None | Some(')') => return Ok(pipe),
                Some('|') => {
                    self.i += 1;
                    pipe.push(Vec::new());
                }
                Some(_) => {
                    let t = self.term()?;
                    if let Some(last) = pipe.last_mut() {
                        last.push(t);
                    }
                }
            }
        }
    }

    /// Field names after `.`: `.A.B` gives [A, B]; a lone `.` gives [].
    fn fields(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while self.peek() == Some('.') {
            self.i += 1;
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                self.i += 1;
            }
            if self.i > start {
                out.push(self.s[start..self.i].to_string());
            }
        }
        out
    }

    fn word(&mut self) -> &str {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == '+' || c == '.')
        {
            self.i += 1;
        }
        &self.s[start..self.i]
    }

    fn term(&mut self) -> Result<Term, Error> {
        match self.peek() {
            Some('.') => Ok(Term::Dot(self.fields())),
            Some('$') => {
                self.i += 1;
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.i += 1;
                }
                let name = self.s[start..self.i].to_string();
                Ok(Term::Var(name, self.fields()))
            }
            Some('(') => {
                self.i += 1;
                let inner = self.pipeline()?;
                if self.peek() != Some(')') {
                    return Err(Error::Parse("unclosed '('".into()));
                }
                self.i += 1;
                Ok(Term::Sub(inner, self.fields()))
            }
            Some('"') => self.quoted(),
            Some('`') => {
                let rest = &self.s[self.i + 1..];
                let end = rest
                    .find('`')
                    .ok_or_else(|| Error::Parse("unclosed raw string".into()))?;
                self.i += end + 2;
                Ok(Term::Str(rest[..end].to_string()))
            }
            Some(c) if c.is_ascii_digit() || c == '-' || c == '+' => {
                let w = self.word().to_string();
                if let Ok(n) = w.parse::<i64>() {
                    Ok(Term::Int(n))
                } else {
                    w.parse::<f64>()
                        .map(Term::Float)
                        .map_err(|_| Error::Parse(format!("bad number {w:?}")))
                }
            }
            Some(c) if c.is_alphabetic() || c == '_' => {
                let start = self.i;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.i += 1;
                }
                Ok(match &self.s[start..self.i] {
                    "true" => Term::Bool(true),
                    "false" => Term::Bool(false),
                    w => Term::Ident(w.to_string()),
                })
            }
            Some(c) => Err(Error::Parse(format!("unexpected {c:?}"))),
            None => Err(Error::Parse("missing operand".into())),
        }
    }

    /// A Go interpreted string: `\n`, `\t`, `\\`, `\"` escapes.
    fn quoted(&mut self) -> Result<Term, Error> {
        let mut out = String::new();
        let mut chars = self.s[self.i + 1..].char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                '"' => {
                    self.i += k + 2;
                    return Ok(Term::Str(out));
                }
                '\\' => match chars.next().map(|(_, e)| e) {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some(e) => out.push(e),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(Error::Parse("unclosed string".into()))
    }
}
