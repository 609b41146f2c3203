//! The learning-rate schedule: linear warmup to the peak, then linear decay to zero.

/// Learning rate at optimiser step `step` (0-based) of `total`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearSchedule {
    pub peak: f64,
    pub warmup_steps: usize,
    pub total_steps: usize,
}

impl LinearSchedule {
    pub fn new(peak: f64, warmup_ratio: f64, total_steps: usize) -> Self {
        LinearSchedule {
            peak,
            warmup_steps: (warmup_ratio * total_steps as f64).round() as usize,
            total_steps,
        }
    }

    pub fn lr(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            self.peak * (step + 1) as f64 / self.warmup_steps as f64
        } else {
            let remaining = self.total_steps.saturating_sub(step) as f64;
            let span = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
            self.peak * remaining / span
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays_to_zero() {
        let s = LinearSchedule::new(1.0, 0.1, 100);
        assert_eq!(s.warmup_steps, 10);
        assert!((s.lr(0) - 0.1).abs() < 1e-12);
        assert!((s.lr(9) - 1.0).abs() < 1e-12);
        assert!((s.lr(10) - 1.0).abs() < 1e-12);
        assert!((s.lr(55) - 0.5).abs() < 1e-12);
        assert!(s.lr(99) > 0.0 && s.lr(99) < 0.02);
        assert_eq!(s.lr(100), 0.0);
    }

    #[test]
    fn no_warmup_starts_at_the_peak() {
        let s = LinearSchedule::new(2.0, 0.0, 4);
        assert_eq!(s.lr(0), 2.0);
        assert_eq!(s.lr(2), 1.0);
    }
}
