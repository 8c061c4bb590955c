//! The one check minijinja cannot do for us: a `*` that repeats a string or list far past what a message
//! may hold. minijinja folds constant expressions while compiling, so `'x' * 1e8` would become a 100 MB
//! constant before the output limit could apply; the parsed source is inspected first.

use minijinja::machinery::ast::{BinOpKind, CallArg, Expr, Stmt, UnaryOpKind};
use minijinja::value::ValueKind;

use super::MAX_OUTPUT_BYTES;

/// Whether a `*` in `source` would repeat something past [`MAX_OUTPUT_BYTES`]: a count above it (any
/// non-empty string repeated that often is too long), or a constant string or list whose repeat is.
/// A source that does not parse is left to the compiler, which reports where.
pub(super) fn repeats_too_much(name: &str, source: &str) -> bool {
    let Ok(ast) = minijinja::machinery::parse(source, name, Default::default(), Default::default()) else {
        return false;
    };
    let mut found = false;
    walk_stmt(&ast, &mut |e| found |= is_oversized_repeat(e));
    found
}

fn is_oversized_repeat(e: &Expr<'_>) -> bool {
    let Expr::BinOp(op) = e else { return false };
    if !matches!(op.op, BinOpKind::Mul) {
        return false;
    }
    let limit = MAX_OUTPUT_BYTES as f64;
    let sides = [(&op.left, &op.right), (&op.right, &op.left)];
    sides.into_iter().any(|(count, repeated)| match number(count) {
        Some(n) if n.abs() > limit => true,
        Some(n) => repeated_len(repeated).is_some_and(|len| len as f64 * n > limit),
        None => false,
    })
}

/// The value of an expression made only of number literals and arithmetic (cheap to fold).
fn number(e: &Expr<'_>) -> Option<f64> {
    fn numeric(e: &Expr<'_>) -> bool {
        match e {
            Expr::Const(c) => c.value.kind() == ValueKind::Number,
            Expr::UnaryOp(u) => matches!(u.op, UnaryOpKind::Neg) && numeric(&u.expr),
            Expr::BinOp(b) => {
                matches!(
                    b.op,
                    BinOpKind::Add
                        | BinOpKind::Sub
                        | BinOpKind::Mul
                        | BinOpKind::Div
                        | BinOpKind::FloorDiv
                        | BinOpKind::Rem
                ) && numeric(&b.left)
                    && numeric(&b.right)
            }
            _ => false,
        }
    }
    numeric(e)
        .then(|| e.as_const())
        .flatten()
        .and_then(|v| f64::try_from(v).ok())
}

/// The length of a constant string or list, as a repeat would multiply it.
fn repeated_len(e: &Expr<'_>) -> Option<usize> {
    match e {
        Expr::Const(c) => c.value.as_str().map(str::len).or_else(|| c.value.len()),
        Expr::List(l) => Some(l.items.iter().map(|i| repeated_len(i).unwrap_or(1)).sum()),
        Expr::BinOp(b) if matches!(b.op, BinOpKind::Concat | BinOpKind::Add) => {
            Some(repeated_len(&b.left)? + repeated_len(&b.right)?)
        }
        Expr::BinOp(b) if matches!(b.op, BinOpKind::Mul) => {
            let (n, inner) = match number(&b.right) {
                Some(n) => (n, &b.left),
                None => (number(&b.left)?, &b.right),
            };
            Some((repeated_len(inner)? as f64 * n.max(0.0)).min(usize::MAX as f64) as usize)
        }
        _ => None,
    }
}

/// Calls `f` on every expression of a statement tree.
fn walk_stmt(stmt: &Stmt<'_>, f: &mut dyn FnMut(&Expr<'_>)) {
    let body = |stmts: &[Stmt<'_>], f: &mut dyn FnMut(&Expr<'_>)| stmts.iter().for_each(|s| walk_stmt(s, f));
    match stmt {
        Stmt::Template(t) => body(&t.children, f),
        Stmt::EmitExpr(e) => walk_expr(&e.expr, f),
        Stmt::EmitRaw(_) => {}
        Stmt::Block(b) => body(&b.body, f),
        Stmt::ForLoop(l) => {
            walk_expr(&l.target, f);
            walk_expr(&l.iter, f);
            if let Some(e) = &l.filter_expr {
                walk_expr(e, f);
            }
            body(&l.body, f);
            body(&l.else_body, f);
        }
        Stmt::IfCond(c) => {
            walk_expr(&c.expr, f);
            body(&c.true_body, f);
            body(&c.false_body, f);
        }
        Stmt::WithBlock(w) => {
            for (target, value) in &w.assignments {
                walk_expr(target, f);
                walk_expr(value, f);
            }
            body(&w.body, f);
        }
        Stmt::Set(s) => walk_expr(&s.expr, f),
        Stmt::SetBlock(s) => {
            if let Some(e) = &s.filter {
                walk_expr(e, f);
            }
            body(&s.body, f);
        }
        Stmt::AutoEscape(a) => body(&a.body, f),
        Stmt::FilterBlock(b) => {
            walk_expr(&b.filter, f);
            body(&b.body, f);
        }
        Stmt::Import(i) => walk_expr(&i.expr, f),
        Stmt::FromImport(i) => walk_expr(&i.expr, f),
        Stmt::Extends(e) => walk_expr(&e.name, f),
        Stmt::Include(i) => walk_expr(&i.name, f),
        Stmt::Macro(m) => {
            m.defaults.iter().for_each(|e| walk_expr(e, f));
            body(&m.body, f);
        }
        Stmt::CallBlock(c) => {
            walk_expr(&c.call.expr, f);
            walk_args(&c.call.args, f);
            c.macro_decl.defaults.iter().for_each(|e| walk_expr(e, f));
            body(&c.macro_decl.body, f);
        }
        Stmt::Do(d) => {
            walk_expr(&d.call.expr, f);
            walk_args(&d.call.args, f);
        }
    }
}

fn walk_args(args: &[CallArg<'_>], f: &mut dyn FnMut(&Expr<'_>)) {
    for arg in args {
        match arg {
            CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => walk_expr(e, f),
        }
    }
}

fn walk_expr(e: &Expr<'_>, f: &mut dyn FnMut(&Expr<'_>)) {
    f(e);
    match e {
        Expr::Var(_) | Expr::Const(_) => {}
        Expr::Slice(s) => {
            walk_expr(&s.expr, f);
            for part in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                walk_expr(part, f);
            }
        }
        Expr::UnaryOp(u) => walk_expr(&u.expr, f),
        Expr::BinOp(b) => {
            walk_expr(&b.left, f);
            walk_expr(&b.right, f);
        }
        Expr::Compare(c) => {
            walk_expr(&c.expr, f);
            c.ops.iter().for_each(|op| walk_expr(&op.expr, f));
        }
        Expr::IfExpr(i) => {
            walk_expr(&i.test_expr, f);
            walk_expr(&i.true_expr, f);
            if let Some(e) = &i.false_expr {
                walk_expr(e, f);
            }
        }
        Expr::Filter(x) => {
            if let Some(e) = &x.expr {
                walk_expr(e, f);
            }
            walk_args(&x.args, f);
        }
        Expr::Test(t) => {
            walk_expr(&t.expr, f);
            walk_args(&t.args, f);
        }
        Expr::GetAttr(g) => walk_expr(&g.expr, f),
        Expr::GetItem(g) => {
            walk_expr(&g.expr, f);
            walk_expr(&g.subscript_expr, f);
        }
        Expr::Call(c) => {
            walk_expr(&c.expr, f);
            walk_args(&c.args, f);
        }
        Expr::List(l) => l.items.iter().for_each(|e| walk_expr(e, f)),
        Expr::Map(m) => m.keys.iter().chain(&m.values).for_each(|e| walk_expr(e, f)),
    }
}
