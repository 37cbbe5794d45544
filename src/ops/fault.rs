//! Fault injection: with the `fault-injection` feature, `SNAPGOV_FAULT=<step>`
//! makes that workflow step fail, `SNAPGOV_FAULT=<step>:abort` aborts the
//! process there (as a crash would), `<step>:panic` panics there, and
//! `<step>:wait=PATH` pauses there. Without the feature this compiles to nothing.

use super::OpError;

/// Called at each named step of a workflow.
#[inline]
pub fn point(step: &'static str) -> Result<(), OpError> {
    #[cfg(feature = "fault-injection")]
    {
        if let Ok(spec) = std::env::var("SNAPGOV_FAULT") {
            let (name, mode) = spec.split_once(':').unwrap_or((spec.as_str(), "fail"));
            if name == step {
                if mode == "panic" {
                    panic!("fault injection: panic at step {step}");
                }
                if mode == "abort" {
                    eprintln!("snapgov: fault injection: aborting at step {step}");
                    std::process::abort();
                }
                // `wait=PATH`: writes PATH.reached, then waits (up to 60 s)
                // until PATH exists, so a test can interleave two processes
                // at a chosen step deterministically.
                if let Some(path) = mode.strip_prefix("wait=") {
                    let _ = std::fs::write(format!("{path}.reached"), step);
                    let start = std::time::Instant::now();
                    while !std::path::Path::new(path).exists()
                        && start.elapsed() < std::time::Duration::from_secs(60)
                    {
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    return Ok(());
                }
                return Err(OpError::Fault(step));
            }
        }
    }
    let _ = step;
    Ok(())
}
