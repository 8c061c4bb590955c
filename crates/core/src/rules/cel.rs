//! CEL (`expr` conditions) through the `cel` crate: guarded compilation with positions,
//! and one activation per event that many programs evaluate against.

use std::panic::AssertUnwindSafe;
use std::sync::OnceLock;

use cel::{Context, ExecutionError, Program, SerializationError, Value};

use super::vars::Vars;

/// Longest expression accepted. Parsing and evaluation recurse over the expression, so its size is
/// bounded to keep the stack of a router thread safe whatever a seller types.
pub(super) const MAX_EXPR_BYTES: usize = 2048;
/// Deepest bracket nesting accepted, for the same reason.
pub(super) const MAX_EXPR_NESTING: usize = 24;
/// Most operator characters accepted (`+`, `&&`, `.`, …): a chain of operators parses into a tree as
/// deep as the chain is long. A debug build ran 2,000 on a 2 MiB stack and overflowed at 4,000: a wide margin.
pub(super) const MAX_EXPR_OPERATORS: usize = 256;

/// Why an expression was refused at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CelCompileError {
    /// Longer than [`MAX_EXPR_BYTES`].
    TooLong,
    /// Brackets nested deeper than [`MAX_EXPR_NESTING`], or more than [`MAX_EXPR_OPERATORS`] operators.
    TooDeep,
    /// The parser's first error; line and column are 1-based when the parser knows them.
    Syntax {
        line: Option<u32>,
        column: Option<u32>,
        message: String,
    },
}

/// A parsed CEL program.
#[derive(Debug)]
pub(super) struct CelProgram(Program);

impl CelProgram {
    /// Parses `source` after the size and nesting guards.
    pub(super) fn compile(source: &str) -> Result<Self, CelCompileError> {
        if source.len() > MAX_EXPR_BYTES {
            return Err(CelCompileError::TooLong);
        }
        let shape = Shape::of(source);
        if shape.max_nesting > MAX_EXPR_NESTING || shape.operators > MAX_EXPR_OPERATORS {
            return Err(CelCompileError::TooDeep);
        }
        // Seller-typed text goes to a third-party parser, whose predecessor (cel-parser 0.10) panicked
        // on some malformed input (cel-rust issues 191 and 194): a parser bug must refuse one rule, not
        // take a thread down. Nothing but the parser's own locals is touched inside, so catching the
        // unwind is sound.
        let parsed = match std::panic::catch_unwind(AssertUnwindSafe(|| Program::compile(source))) {
            Ok(parsed) => parsed,
            // The parser's own errors were lost with the panic: place the usual culprits ourselves.
            Err(_) => {
                let (line, column, message) = match shape.problem.or(shape.dangling) {
                    Some((line, column, problem)) => (Some(line), Some(column), problem),
                    None => (None, None, "the expression is incomplete or malformed".to_owned()),
                };
                return Err(CelCompileError::Syntax { line, column, message });
            }
        };
        parsed.map(Self).map_err(|errors| {
            // For an expression that ends with an operator the parser only says which dozen tokens it
            // expected at the end of the input; naming the operator is what a seller can act on.
            if let Some((line, column, message)) = shape.dangling {
                return CelCompileError::Syntax {
                    line: Some(line),
                    column: Some(column),
                    message,
                };
            }
            match errors.errors.into_iter().next() {
                Some(first) => {
                    // The parser reports (0, 0) when it could not place the error.
                    let known = first.pos.0 > 0;
                    CelCompileError::Syntax {
                        line: known.then(|| u32::try_from(first.pos.0).ok()).flatten(),
                        column: known.then(|| u32::try_from(first.pos.1).ok()).flatten(),
                        message: first.msg,
                    }
                }
                None => CelCompileError::Syntax {
                    line: None,
                    column: None,
                    message: "the expression could not be parsed".to_owned(),
                },
            }
        })
    }

    /// Runs the program; anything but a bool is an error.
    pub(super) fn run(&self, activation: &Context<'_, '_>) -> Result<bool, CelRunError> {
        // The predecessor's interpreter panicked on a few inputs too (`b'abc'.contains(b'')` sliced with a
        // zero-width window); the same guard covers the successor. Execution only reads the program and
        // the activation, so nothing is left half-done.
        match std::panic::catch_unwind(AssertUnwindSafe(|| self.0.execute(activation))) {
            Ok(Ok(Value::Bool(b))) => Ok(b),
            Ok(Ok(other)) => Err(CelRunError::NotBool(other.type_of().to_string())),
            Ok(Err(e)) => Err(CelRunError::Execution(e)),
            Err(_) => Err(CelRunError::Panicked),
        }
    }
}

/// Why a program failed on one event.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CelRunError {
    /// The interpreter failed (unknown name, missing field, wrong type, …).
    Execution(ExecutionError),
    /// The expression returned something other than a bool.
    NotBool(String),
    /// The event's variables could not be converted into CEL values.
    Variables(SerializationError),
    /// The interpreter panicked (a bug of the interpreter, caught).
    Panicked,
}

impl std::fmt::Display for CelRunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CelRunError::Execution(e) => write!(f, "{e}"),
            CelRunError::NotBool(t) => write!(f, "the expression returned a {t}, not true or false"),
            CelRunError::Variables(e) => write!(f, "the event could not be given to CEL: {e}"),
            CelRunError::Panicked => write!(f, "the CEL interpreter failed on this expression"),
        }
    }
}

/// The built-in functions, registered once: an activation only adds the three variables on top.
fn functions() -> &'static Context<'static, 'static> {
    static BASE: OnceLock<Context<'static, 'static>> = OnceLock::new();
    BASE.get_or_init(Context::default)
}

/// The CEL activation for one event: `event`, `order` (when there is one) and `now`.
pub(super) fn activation(vars: &Vars<'_>) -> Result<Context<'static, 'static>, CelRunError> {
    let mut ctx = functions().new_inner_scope();
    let err = CelRunError::Variables;
    ctx.add_variable("event", &vars.event).map_err(err)?;
    if let Some(order) = &vars.order {
        ctx.add_variable("order", order).map_err(err)?;
    }
    ctx.add_variable("now", &vars.now).map_err(err)?;
    Ok(ctx)
}

/// What a lexical scan sees in an expression: how deep it nests, how many operators it chains, the
/// first structural mistake (unbalanced bracket, unterminated string) and a trailing operator, each
/// with its 1-based line and column.
#[derive(Debug, Default)]
struct Shape {
    max_nesting: usize,
    operators: usize,
    problem: Option<(u32, u32, String)>,
    dangling: Option<(u32, u32, String)>,
}

impl Shape {
    fn of(source: &str) -> Self {
        let mut shape = Shape::default();
        let mut open: Vec<(char, u32, u32)> = Vec::new();
        let mut quote: Option<(char, u32, u32)> = None;
        let mut escaped = false;
        let mut last_token: Option<(char, u32, u32)> = None;
        let (mut line, mut column) = (1u32, 0u32);
        for c in source.chars() {
            if c == '\n' {
                line += 1;
                column = 0;
            } else {
                column += 1;
            }
            if let Some((q, ..)) = quote {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
                continue;
            }
            if !c.is_whitespace() {
                last_token = Some((c, line, column));
            }
            match c {
                '"' | '\'' => quote = Some((c, line, column)),
                '(' | '[' | '{' => {
                    open.push((c, line, column));
                    shape.max_nesting = shape.max_nesting.max(open.len());
                }
                ')' | ']' | '}' => {
                    let expected = match c {
                        ')' => '(',
                        ']' => '[',
                        _ => '{',
                    };
                    match open.pop() {
                        Some((o, ..)) if o == expected => {}
                        _ => shape.note(line, column, format!("`{c}` has no matching `{expected}`")),
                    }
                }
                '+' | '-' | '*' | '/' | '%' | '<' | '>' | '=' | '!' | '&' | '|' | '?' | ':' | '.' => {
                    shape.operators += 1
                }
                _ => {}
            }
        }
        if let Some((q, l, c)) = quote {
            shape.note(l, c, format!("the string started here is never closed with {q}"));
        }
        if let Some(&(o, l, c)) = open.last() {
            shape.note(l, c, format!("`{o}` is never closed"));
        }
        if let Some((t, l, c)) = last_token {
            if "+-*/%<>=!&|?:.,".contains(t) {
                shape.dangling = Some((
                    l,
                    c,
                    format!("the expression ends with `{t}`, which needs something after it"),
                ));
            }
        }
        shape
    }

    /// Keeps the first problem found.
    fn note(&mut self, line: u32, column: u32, problem: String) {
        self.problem.get_or_insert((line, column, problem));
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = CelProgram::compile("order.total_amount >").unwrap_err();
        let CelCompileError::Syntax { line, column, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(line, Some(1));
        assert!(column.is_some());
        let err = CelProgram::compile("true &&\n  order.cod ==").unwrap_err();
        let CelCompileError::Syntax { line, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(line, Some(2));
    }

    #[test]
    fn a_panicking_interpreter_is_an_error_not_a_crash() {
        let mut ctx = Context::default();
        ctx.add_function("boom", || -> bool { panic!("an interpreter bug") })
            .unwrap();
        let program = CelProgram::compile("boom()").unwrap();
        assert_eq!(program.run(&ctx), Err(CelRunError::Panicked));
    }

    #[test]
    fn guards_refuse_huge_or_deep_expressions() {
        assert_eq!(
            CelProgram::compile(&"1+".repeat(2000)).unwrap_err(),
            CelCompileError::TooLong
        );
        let deep = format!("{}true{}", "(".repeat(30), ")".repeat(30));
        assert_eq!(CelProgram::compile(&deep).unwrap_err(), CelCompileError::TooDeep);
        assert_eq!(
            Shape::of(r#"x.contains("((((((((((((((((((((((((((((((")"#).max_nesting,
            1
        );
        assert_eq!(
            CelProgram::compile(&"1 + ".repeat(300)).unwrap_err(),
            CelCompileError::TooDeep
        );
    }
}
