//! Fault injection: with the `fault-injection` feature, `SNAPGOV_FAULT=<step>`
//! makes that workflow step fail, and `SNAPGOV_FAULT=<step>:abort` aborts the
//! process there (as a crash would). Without the feature this compiles to nothing.

use super::OpError;

/// Called at each named step of a workflow.
#[inline]
pub fn point(step: &'static str) -> Result<(), OpError> {
    #[cfg(feature = "fault-injection")]
    {
        if let Ok(spec) = std::env::var("SNAPGOV_FAULT") {
            let (name, mode) = spec.split_once(':').unwrap_or((spec.as_str(), "fail"));
            if name == step {
                if mode == "abort" {
                    eprintln!("snapgov: fault injection: aborting at step {step}");
                    std::process::abort();
                }
                return Err(OpError::Fault(step));
            }
        }
    }
    let _ = step;
    Ok(())
}
