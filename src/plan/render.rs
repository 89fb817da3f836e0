//! The plan as people read it, in the manner of Terraform: `+` create, `~` update with a
//! field-level diff, `-` destroy, `!` manual, each with the findings it resolves; then a
//! summary line. Pure.

use std::fmt::Write;

use super::{Action, ActionKind, Change, Plan};

const RESET: &str = "\u{1b}[0m";

fn colour(change: Change) -> &'static str {
    match change {
        Change::Create => "\u{1b}[32m",
        Change::Update => "\u{1b}[33m",
        Change::Destroy => "\u{1b}[31m",
        Change::Manual => "\u{1b}[35m",
    }
}

/// Renders a plan; `color` adds ANSI colours (terminals only).
pub fn render(plan: &Plan, color: bool) -> String {
    let mut out = String::new();
    if plan.actions.is_empty() {
        out.push_str("No changes. The live configuration meets the policy.\n");
        return out;
    }
    let api: Vec<&Action> = plan.api_actions().collect();
    if !api.is_empty() {
        let _ = writeln!(out, "jumpguard will perform the following actions:\n");
        for a in &api {
            action(&mut out, a, color);
        }
    }
    let manual: Vec<&Action> = plan.manual_actions().collect();
    if !manual.is_empty() {
        let _ = writeln!(out, "These steps need a person (no API can make them):\n");
        for a in &manual {
            action(&mut out, a, color);
        }
    }
    out.push_str(&render_summary(plan));
    out.push('\n');
    out
}

fn action(out: &mut String, a: &Action, color: bool) {
    let (on, off) = if color {
        (colour(a.change), RESET)
    } else {
        ("", "")
    };
    let _ = writeln!(
        out,
        "  {on}{}{off} [{}] {}",
        a.change.sign(),
        a.id,
        a.summary
    );
    if !a.fields.is_empty() {
        let before: Vec<String> = a
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.before))
            .collect();
        let after: Vec<String> = a
            .fields
            .iter()
            .map(|f| format!("{}: {}", f.field, f.after))
            .collect();
        let (before, after) = (before.join("\n") + "\n", after.join("\n") + "\n");
        let diff = similar::TextDiff::from_lines(&before, &after);
        for change in diff.iter_all_changes() {
            let (sign, c) = match change.tag() {
                similar::ChangeTag::Delete => ('-', "\u{1b}[31m"),
                similar::ChangeTag::Insert => ('+', "\u{1b}[32m"),
                similar::ChangeTag::Equal => (' ', ""),
            };
            let (c_on, c_off) = if color && !c.is_empty() {
                (c, RESET)
            } else {
                ("", "")
            };
            let _ = write!(out, "      {c_on}{sign} {}{c_off}", change.value());
        }
    }
    if !a.depends_on.is_empty() {
        let _ = writeln!(out, "      after: {}", a.depends_on.join(", "));
    }
    for (i, step) in a.instructions.iter().enumerate() {
        let _ = writeln!(out, "      {}. {step}", i + 1);
    }
    if let Some(snippet) = &a.then_add {
        let _ = writeln!(out, "      then add to the policy:");
        for line in snippet.lines() {
            let _ = writeln!(out, "        {line}");
        }
    }
    if !a.resolves.is_empty() {
        let _ = writeln!(out, "      resolves:");
        // Several paths can share a (rule, target, host): show it once, with the count.
        let mut lines: Vec<(String, usize)> = Vec::new();
        for r in &a.resolves {
            let line = format!(
                "{} {} {}",
                r.rule,
                r.target.as_deref().unwrap_or("-"),
                r.host.as_deref().unwrap_or("-")
            );
            match lines.iter_mut().find(|(l, _)| *l == line) {
                Some((_, n)) => *n += 1,
                None => lines.push((line, 1)),
            }
        }
        for (line, n) in lines {
            let paths = if n > 1 {
                format!(" ({n} paths)")
            } else {
                String::new()
            };
            let _ = writeln!(out, "        {line}{paths}");
        }
    }
    out.push('\n');
}

/// `Plan: 1 to add, 3 to change, 1 to destroy, 2 manual steps.`
pub fn render_summary(plan: &Plan) -> String {
    let count = |c: Change| {
        plan.actions
            .iter()
            .filter(|a| a.change == c && a.kind == ActionKind::Api)
            .count()
    };
    let manual = plan.manual_actions().count();
    format!(
        "Plan: {} to add, {} to change, {} to destroy, {} manual step{}.",
        count(Change::Create),
        count(Change::Update),
        count(Change::Destroy),
        manual,
        if manual == 1 { "" } else { "s" }
    )
}
