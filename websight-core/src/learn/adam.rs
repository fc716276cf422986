//! The Adam optimiser (Kingma & Ba 2015).

use super::Gradients;

/// Adam state: first and second moment estimates per parameter.
#[derive(Debug, Clone)]
pub struct Adam {
    learning_rate: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    step: i32,
    m: Option<Gradients>,
    v: Option<Gradients>,
}

impl Adam {
    /// Adam with the usual β₁ = 0.9, β₂ = 0.999, ε = 10⁻⁸.
    pub fn new(learning_rate: f64) -> Self {
        Adam {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            step: 0,
            m: None,
            v: None,
        }
    }

    /// The update for gradient `g` (a descent direction to subtract).
    pub(crate) fn update(&mut self, g: &Gradients) -> Gradients {
        self.step += 1;
        let m = self.m.get_or_insert_with(|| g.zeros_like());
        let v = self.v.get_or_insert_with(|| g.zeros_like());
        let (b1, b2) = (self.beta1, self.beta2);
        m.zip_mut(g, |m, g| *m = b1 * *m + (1.0 - b1) * g);
        v.zip_mut(g, |v, g| *v = b2 * *v + (1.0 - b2) * g * g);
        let c1 = 1.0 - b1.powi(self.step);
        let c2 = 1.0 - b2.powi(self.step);
        let (lr, eps) = (self.learning_rate, self.epsilon);
        let mut out = m.clone();
        out.zip_mut(v, |o, v| *o = lr * (*o / c1) / ((v / c2).sqrt() + eps));
        out
    }
}
