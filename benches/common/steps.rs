//! Shared by the governance benches: each rollback step's time.

use snapgov::ops::rollback::{Observer, StepEvent};
use std::time::Instant;

/// Each rollback step's time (from its start to its end).
#[derive(Default)]
pub struct StepTimes(std::cell::RefCell<Vec<(String, Instant, Option<f64>)>>);

impl Observer for StepTimes {
    fn on(&self, e: &StepEvent) {
        let mut v = self.0.borrow_mut();
        match e {
            StepEvent::Started(s) => v.push((format!("{s:?}"), Instant::now(), None)),
            StepEvent::Done(_) => {
                if let Some(last) = v.last_mut() {
                    last.2 = Some(last.1.elapsed().as_secs_f64());
                }
            }
            _ => {}
        }
    }
}

impl StepTimes {
    pub fn report(&self) -> String {
        let v = self.0.borrow();
        let parts: Vec<String> = v
            .iter()
            .map(|(s, _, d)| format!("{s} {:.3} s", d.unwrap_or(f64::NAN)))
            .collect();
        parts.join(", ")
    }
}
