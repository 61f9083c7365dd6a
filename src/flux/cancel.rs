//! Stopping a computation from outside: whoever asked for it (a request that timed out, a client
//! that left) raises the flag, and the apportionment's loops look at it between their rounds.
//! A plain atomic flag keeps `flux` free of any runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag shared between the computation and whoever may stop it; the default is never raised.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the computation to stop at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Cancelled)` once the flag is raised, for `?` between the steps.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

/// The computation stopped because its caller no longer wanted the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("calcul interrompu : la demande a été abandonnée")]
pub struct Cancelled;

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::flux::apportion::{ApportionError, WeightMatrix, biproportional_until};

    #[test]
    fn a_raised_flag_stops_the_apportionment() {
        let weights = WeightMatrix {
            rows: 2,
            cols: 2,
            cells: vec![
                (0, 0, Decimal::from(3)),
                (0, 1, Decimal::from(1)),
                (1, 0, Decimal::from(1)),
                (1, 1, Decimal::from(2)),
            ],
        };
        let cancel = Cancel::new();
        assert!(biproportional_until(&weights, &[4, 3], &[4, 3], &cancel).is_ok());
        let other = cancel.clone();
        other.cancel();
        assert!(cancel.is_cancelled());
        assert_eq!(cancel.check(), Err(Cancelled));
        assert_eq!(
            biproportional_until(&weights, &[4, 3], &[4, 3], &cancel).unwrap_err(),
            ApportionError::Cancelled
        );
        assert!(!Cancel::default().is_cancelled());
    }
}
