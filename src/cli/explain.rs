//! `jumpguard explain RULE`.

use crate::policy::did_you_mean;
use crate::rules::{explanation as text, Rule};

pub(crate) fn run(rule: Option<&str>) -> u8 {
    let Some(id) = rule else {
        for r in Rule::ALL {
            println!(
                "{:<26} {:<9} {}",
                r.id(),
                r.severity().as_str(),
                r.summary()
            );
        }
        return 0;
    };
    match Rule::from_id(id.trim()) {
        Some(r) => {
            print!("{}", text(r));
            0
        }
        None => {
            eprintln!("error: unknown rule `{id}`");
            match did_you_mean(id, Rule::ALL.iter().map(|r| r.id())) {
                Some(s) => eprintln!("  help: did you mean `{s}`?"),
                None => eprintln!("  help: `jumpguard explain` lists every rule"),
            }
            super::EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_an_explanation_with_a_fix() {
        for r in Rule::ALL {
            let t = text(*r);
            assert!(
                t.starts_with(&format!("# {}\n", r.id())),
                "{r} doc must start with its id"
            );
            assert!(t.contains("## How to fix"), "{r} doc lacks a fix");
        }
    }
}
