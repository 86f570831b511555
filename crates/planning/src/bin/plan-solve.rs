//! Reads an instance (JSON, benchmark "instance v1") on stdin, writes the solution JSON on stdout.

use std::io::{Read, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("plan-solve: cannot read stdin: {e}");
        return ExitCode::from(2);
    }
    let instance: planning::Instance = match serde_json::from_str(&input) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("plan-solve: invalid instance JSON: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = instance.validate() {
        eprintln!("plan-solve: warning: {e}");
    }
    // The solution JSON with an extra "stats" object, which evaluate.py ignores.
    let mut options = planning::Options::default();
    if let Some(limit) = std::env::var("PLAN_FLOW_PAIRS_LIMIT")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.flow_pairs_limit = limit;
    }
    let plan = planning::solve_with(&instance, &[], options);
    let out = match serde_json::to_string(&plan) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("plan-solve: cannot serialise solution: {e}");
            return ExitCode::from(1);
        }
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.as_bytes())
        .and_then(|()| stdout.write_all(b"\n"))
    {
        eprintln!("plan-solve: cannot write stdout: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
