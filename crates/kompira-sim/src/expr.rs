//! The small part of the Kompira job-flow language the simulator understands: literal
//! expressions (job-flow parameters are expressions compiled by the server) and job flows made
//! of a parameter header and a chain of `print`, `sleep` and `return` jobs.
//!
//! Error texts follow the real 1.6.11 server where it was observed (`Unexpected token: 1.`,
//! `Unclosed string literal.`, `Incomplete expression.`, `Illegal character '@'.`).

use serde_json::{Map, Number, Value};

/// Characters that start an operator or delimiter of the language; anything else that is not a
/// letter, digit, quote or space is an illegal character.
const PUNCTUATION: &str = "+-*/%<>=!&|^~()[]{},:.;";

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Str(String),
    Int(i64),
    Float(f64),
    Ident(String),
    Punct(String),
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    /// The source text, for "Unexpected token" messages.
    text: String,
    line: u32,
}

fn lex(src: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line = 1u32;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' || c == '\'' {
            let (value, end, lines) = lex_string(&chars, i)?;
            tokens.push(Token { tok: Tok::Str(value), text: chars[start..end].iter().collect(), line });
            line += lines;
            i = end;
        } else if c.is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let mut float = false;
            if i < chars.len() && chars[i] == '.' {
                float = true;
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
                if i < chars.len() && matches!(chars[i], 'e' | 'E') {
                    let mut j = i + 1;
                    if j < chars.len() && matches!(chars[j], '+' | '-') {
                        j += 1;
                    }
                    if j < chars.len() && chars[j].is_ascii_digit() {
                        i = j;
                        while i < chars.len() && chars[i].is_ascii_digit() {
                            i += 1;
                        }
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            let tok = if float {
                Tok::Float(text.parse().map_err(|_| format!("Invalid number {text}."))?)
            } else {
                match text.parse() {
                    Ok(n) => Tok::Int(n),
                    // Kompira integers are unbounded; the simulator keeps them as floats.
                    Err(_) => Tok::Float(text.parse().unwrap_or(f64::INFINITY)),
                }
            };
            tokens.push(Token { tok, text, line });
        } else if c.is_alphabetic() || c == '_' || c == '$' {
            i += 1;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            tokens.push(Token { tok: Tok::Ident(text.clone()), text, line });
        } else if PUNCTUATION.contains(c) {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let text = if two == "->" { two } else { c.to_string() };
            i += text.chars().count();
            tokens.push(Token { tok: Tok::Punct(text.clone()), text, line });
        } else {
            return Err(format!("Illegal character '{c}'."));
        }
    }
    Ok(tokens)
}

/// A string literal starting at `chars[start]`: its value (escapes decoded, `$$` not yet
/// folded), the index after it and the number of newlines inside.
fn lex_string(chars: &[char], start: usize) -> Result<(String, usize, u32), String> {
    let quote = chars[start];
    let triple = chars.len() >= start + 3 && chars[start + 1] == quote && chars[start + 2] == quote;
    let mut i = start + if triple { 3 } else { 1 };
    let mut out = String::new();
    let mut lines = 0;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err("Unclosed string literal.".to_string());
        };
        if triple {
            if c == quote && chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote) {
                return Ok((out, i + 3, lines));
            }
        } else if c == quote {
            return Ok((out, i + 1, lines));
        } else if c == '\n' {
            return Err("Unclosed string literal.".to_string());
        }
        if c == '\n' {
            lines += 1;
        }
        if c != '\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = chars.get(i + 1) else {
            return Err("Unclosed string literal.".to_string());
        };
        i += 2;
        match e {
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\u{b}'),
            '\n' => lines += 1, // a backslash before a newline continues the line
            'x' => {
                let hex: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                match u32::from_str_radix(&hex, 16) {
                    Ok(code) if hex.len() == 2 => {
                        out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                        i += 2;
                    }
                    _ => return Err("Invalid \\x escape in string literal.".to_string()),
                }
            }
            '0'..='7' => {
                let mut code = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.get(i).and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            code = code * 8 + d;
                            i += 1;
                        }
                        None => break,
                    }
                }
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            // Unknown escapes keep their backslash, as in Python (`\u3042`, `\q`).
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
}

/// Expands `$name` and `${name}` from `scope`, `$$` to `$`, and leaves every other `$` as
/// written (Python's `Template.safe_substitute`, which the server applies to every string
/// literal after its escapes).
pub(crate) fn interpolate(text: &str, scope: &Map<String, Value>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let (name, consumed) = match after.strip_prefix('{') {
            Some(inner) => match inner.find('}') {
                Some(end) if is_identifier(&inner[..end]) => (&inner[..end], end + 2),
                _ => ("", 0),
            },
            None => {
                let end = after
                    .char_indices()
                    .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
                    .map_or(after.len(), |(i, _)| i);
                (&after[..end], end)
            }
        };
        match scope.get(name) {
            Some(value) if !name.is_empty() => {
                out.push_str(&display(value));
                rest = &after[consumed..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// A parsed expression of the subset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Literal(Value),
    Str(String),
    Variable(String),
    List(Vec<Expr>),
    /// A unary minus or binary operator: parsed so that variables in it are reported as the
    /// server does, but not computed.
    Operation(Vec<Expr>),
}

impl Expr {
    /// The first variable in evaluation order, if any.
    fn first_variable(&self) -> Option<&str> {
        match self {
            Expr::Variable(name) => Some(name),
            Expr::List(items) | Expr::Operation(items) => items.iter().find_map(Expr::first_variable),
            Expr::Literal(_) | Expr::Str(_) => None,
        }
    }

    /// The value in `scope`; `Err` names an undefined variable, or says what the simulator
    /// cannot compute.
    pub(crate) fn eval(&self, scope: &Map<String, Value>) -> Result<Value, EvalError> {
        match self {
            Expr::Literal(v) => Ok(v.clone()),
            Expr::Str(s) => Ok(Value::String(interpolate(s, scope))),
            Expr::Variable(name) => scope.get(name).cloned().ok_or_else(|| EvalError::Undefined(name.clone())),
            Expr::List(items) => items.iter().map(|e| e.eval(scope)).collect::<Result<_, _>>().map(Value::Array),
            Expr::Operation(items) => {
                for item in items {
                    item.eval(scope)?;
                }
                Err(EvalError::Unsupported(
                    "kompira-sim evaluates literals, lists and variables only, no operators".to_string(),
                ))
            }
        }
    }
}

/// Why an expression has no value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EvalError {
    /// `Variable "x" is not defined`.
    Undefined(String),
    /// Valid Kompira the simulator cannot compute.
    Unsupported(String),
}

impl EvalError {
    pub(crate) fn message(&self) -> String {
        match self {
            EvalError::Undefined(name) => format!("Variable \"{name}\" is not defined"),
            EvalError::Unsupported(why) => why.clone(),
        }
    }
}

/// How deeply lists and parentheses may nest: bounds the parser's recursion, so a request
/// body of brackets cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Result<Token, String> {
        let t = self.tokens.get(self.pos).cloned().ok_or("Incomplete expression.")?;
        self.pos += 1;
        Ok(t)
    }

    fn at_punct(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Punct(q), .. }) if q == p)
    }

    fn expect_punct(&mut self, p: &str) -> Result<Token, String> {
        let t = self.next()?;
        match &t.tok {
            Tok::Punct(q) if q == p => Ok(t),
            _ => Err(unexpected(&t)),
        }
    }

    fn expression(&mut self) -> Result<Expr, String> {
        let first = self.operand()?;
        let mut items = vec![first];
        while let Some(Token { tok: Tok::Punct(op), .. }) = self.peek() {
            if !["+", "-", "*", "/", "%"].contains(&op.as_str()) {
                break;
            }
            self.pos += 1;
            items.push(self.operand()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Operation(items) })
    }

    fn operand(&mut self) -> Result<Expr, String> {
        if self.depth >= MAX_DEPTH {
            return Err("Expression nested too deeply.".to_string());
        }
        self.depth += 1;
        let operand = self.operand_inner();
        self.depth -= 1;
        operand
    }

    fn operand_inner(&mut self) -> Result<Expr, String> {
        let t = self.next()?;
        match t.tok {
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Int(n) => Ok(Expr::Literal(Value::from(n))),
            Tok::Float(f) => Ok(Expr::Literal(Number::from_f64(f).map_or(Value::Null, Value::Number))),
            Tok::Ident(name) => Ok(match name.as_str() {
                "true" => Expr::Literal(Value::Bool(true)),
                "false" => Expr::Literal(Value::Bool(false)),
                "null" => Expr::Literal(Value::Null),
                _ => Expr::Variable(name),
            }),
            Tok::Punct(ref p) if p == "-" => match self.operand()? {
                Expr::Literal(Value::Number(n)) => Ok(Expr::Literal(negate(&n))),
                other => Ok(Expr::Operation(vec![other])),
            },
            Tok::Punct(ref p) if p == "[" => {
                let mut items = Vec::new();
                loop {
                    if self.at_punct("]") {
                        self.pos += 1;
                        return Ok(Expr::List(items));
                    }
                    items.push(self.expression()?);
                    if self.at_punct(",") {
                        self.pos += 1;
                    } else {
                        self.expect_punct("]")?;
                        return Ok(Expr::List(items));
                    }
                }
            }
            Tok::Punct(ref p) if p == "(" => {
                let inner = self.expression()?;
                self.expect_punct(")")?;
                Ok(inner)
            }
            _ => Err(unexpected(&t)),
        }
    }
}

fn negate(n: &Number) -> Value {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Value::from(-i),
        (None, Some(f)) => Number::from_f64(-f).map_or(Value::Null, Value::Number),
        _ => Value::Null,
    }
}

fn unexpected(t: &Token) -> String {
    format!("Unexpected token: {}.", t.text)
}

/// A compiled job-flow parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parameter(Expr);

impl Parameter {
    /// Compiles a parameter's text; `Err` is the server's `Syntax error: …` text.
    pub(crate) fn compile(text: &str) -> Result<Self, String> {
        let syntax = |m: String| format!("Syntax error: {m}");
        let tokens = lex(text).map_err(syntax)?;
        let mut parser = Parser { tokens, pos: 0, depth: 0 };
        let expr = parser.expression().map_err(syntax)?;
        if let Some(t) = parser.peek() {
            return Err(syntax(unexpected(t)));
        }
        Ok(Self(expr))
    }

    /// The value: parameters are evaluated where no variable is defined yet.
    pub(crate) fn value(&self) -> Result<Value, EvalError> {
        if let Some(name) = self.0.first_variable() {
            return Err(EvalError::Undefined(name.to_string()));
        }
        self.0.eval(&Map::new())
    }
}

/// A job flow the simulator can run: `|name|` / `|name = expr|` declarations, then a chain of
/// `print(…)`, `sleep(seconds)` and `return(value)` joined by `->`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Script {
    pub parameters: Vec<Declaration>,
    pub jobs: Vec<Job>,
}

/// One `|name = default|` declaration.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Declaration {
    pub name: String,
    pub default: Option<Expr>,
    pub line: u32,
}

/// One job of the chain.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Job {
    pub kind: JobKind,
    pub args: Vec<Expr>,
    pub line: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobKind {
    Print,
    Sleep,
    Return,
}

impl Script {
    /// Parses a job flow's source; `Err` says what the simulator cannot run.
    pub(crate) fn parse(source: &str) -> Result<Self, String> {
        let tokens = lex(source)?;
        let mut p = Parser { tokens, pos: 0, depth: 0 };
        let mut parameters = Vec::new();
        while p.at_punct("|") {
            let open = p.next()?;
            let name = match p.next()? {
                Token { tok: Tok::Ident(n), .. } => n,
                t => return Err(unexpected(&t)),
            };
            let default = if p.at_punct("=") {
                p.pos += 1;
                Some(p.expression()?)
            } else {
                None
            };
            p.expect_punct("|")?;
            parameters.push(Declaration { name, default, line: open.line });
        }
        let mut jobs = Vec::new();
        while p.peek().is_some() {
            if !jobs.is_empty() {
                p.expect_punct("->")?;
            }
            let t = p.next()?;
            let kind = match &t.tok {
                Tok::Ident(n) if n == "print" => JobKind::Print,
                Tok::Ident(n) if n == "sleep" => JobKind::Sleep,
                Tok::Ident(n) if n == "return" => JobKind::Return,
                _ => {
                    return Err(format!(
                        "line {}: only print(…), sleep(…) and return(…) jobs run here, not {}",
                        t.line, t.text
                    ))
                }
            };
            p.expect_punct("(")?;
            let mut args = Vec::new();
            while !p.at_punct(")") {
                let arg = p.expression()?;
                if let Expr::Operation(_) = arg {
                    return Err(format!("line {}: operators are not supported", t.line));
                }
                args.push(arg);
                if !p.at_punct(")") {
                    p.expect_punct(",")?;
                }
            }
            p.pos += 1;
            if kind != JobKind::Print && args.len() != 1 {
                return Err(format!("line {}: {} takes one argument", t.line, t.text));
            }
            jobs.push(Job { kind, args, line: t.line });
        }
        Ok(Self { parameters, jobs })
    }
}

/// How `print` shows a value: strings bare at the top level, everything else as the server
/// renders it (`[1, 'a']`, `true`, `null`, `{'k': 1}`).
pub(crate) fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// The server's `repr`-like rendering of a value inside a container.
pub(crate) fn repr(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
            _ => n.to_string(),
        },
        Value::String(s) => python_str_repr(s),
        Value::Array(items) => format!("[{}]", items.iter().map(repr).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter().map(|(k, v)| format!("{}: {}", python_str_repr(k), repr(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Python's `repr(str)`: single quotes unless the text has a single quote and no double quote.
pub(crate) fn python_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value(text: &str) -> Result<Value, String> {
        Parameter::compile(text).and_then(|p| p.value().map_err(|e| e.message()))
    }

    #[test]
    fn literals_as_the_server_reads_them() {
        assert_eq!(value("\"web1\""), Ok(json!("web1")));
        assert_eq!(value("  'web1' "), Ok(json!("web1")));
        assert_eq!(value("42"), Ok(json!(42)));
        assert_eq!(value("-5"), Ok(json!(-5)));
        assert_eq!(value("1.5e3"), Ok(json!(1500.0)));
        assert_eq!(value("true"), Ok(json!(true)));
        assert_eq!(value("null"), Ok(json!(null)));
        assert_eq!(value("[1, [2, \"x\"], true, null, 1.5]"), Ok(json!([1, [2, "x"], true, null, 1.5])));
        assert_eq!(value("\"\"\"tri\nple \" q\"\"\""), Ok(json!("tri\nple \" q")));
    }

    #[test]
    fn escapes_and_dollars_as_observed() {
        assert_eq!(value(r#""\x41\101\u3042\q\a\v\0""#), Ok(json!("AA\\u3042\\q\u{7}\u{b}\u{0}")));
        assert_eq!(value(r#""日本語\n\t\r\\""#), Ok(json!("日本語\n\t\r\\")));
        assert_eq!(value(r#""a $$ b {z} $""#), Ok(json!("a $ b {z} $")));
        assert_eq!(value(r#""$host ${host} $5""#), Ok(json!("$host ${host} $5")));
        assert_eq!(value(r#""\x24\x24""#), Ok(json!("$")));
    }

    #[test]
    fn variables_and_syntax_errors_as_observed() {
        assert_eq!(value("web1"), Err("Variable \"web1\" is not defined".to_string()));
        assert_eq!(value("web-1"), Err("Variable \"web\" is not defined".to_string()));
        assert_eq!(value("web 1"), Err("Syntax error: Unexpected token: 1.".to_string()));
        assert_eq!(value("\"a\", \"b\""), Err("Syntax error: Unexpected token: ,.".to_string()));
        assert_eq!(value("\"abc"), Err("Syntax error: Unclosed string literal.".to_string()));
        assert_eq!(value("[1,"), Err("Syntax error: Incomplete expression.".to_string()));
        assert_eq!(value("@"), Err("Syntax error: Illegal character '@'.".to_string()));
        assert_eq!(value(&"[".repeat(100_000)), Err("Syntax error: Expression nested too deeply.".to_string()));
    }

    #[test]
    fn scripts_of_the_subset() {
        let s = Script::parse("|host = \"none\"|\n|n|\nprint(host, n) ->\nsleep(1) -> return(host)\n").unwrap();
        assert_eq!(s.parameters.len(), 2);
        assert_eq!(s.parameters[1].line, 2);
        assert_eq!(
            s.jobs.iter().map(|j| (j.kind, j.line)).collect::<Vec<_>>(),
            vec![(JobKind::Print, 3), (JobKind::Sleep, 4), (JobKind::Return, 4)]
        );
        assert!(Script::parse("[x = 1] -> return(x)").is_err());
        assert!(Script::parse("print(1) print(2)").is_err());
    }

    #[test]
    fn print_renders_like_the_server() {
        let v = json!([[1, "a"], true, null, 1.5, {"k": 1}, "s"]);
        let shown: Vec<String> = v.as_array().unwrap().iter().map(display).collect();
        assert_eq!(shown.join(" "), "[1, 'a'] true null 1.5 {'k': 1} s");
        assert_eq!(python_str_repr("Variable \"x\""), "'Variable \"x\"'");
        assert_eq!(python_str_repr("Parameter 'b'"), "\"Parameter 'b'\"");
    }
}
