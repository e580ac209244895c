//! Same configuration, same calls: same plans.

use patchrt::Resolution;
use patchrt::policy::{DeviceState, LatencyTracker, Plan, Policy, ThermalState};

use super::res;

/// A small fixed-seed generator (SplitMix64), so the sequence is the same on
/// every run and platform.
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        self.below(1001) as f64 / 1000.0
    }
}

/// A long sequence of readings, tracker updates and override changes,
/// applied to `policy`.
fn replay(policy: &mut Policy, seed: u64) -> Vec<Plan> {
    let mut mix = Mix(seed);
    let mut tracker = LatencyTracker::default();
    let ladders: [&[u32]; 3] = [&[224, 192, 160, 128, 96], &[224, 160, 96], &[192, 128]];
    let thermal = [
        ThermalState::Nominal,
        ThermalState::Fair,
        ThermalState::Serious,
        ThermalState::Critical,
    ];
    policy.set_cascade(&res(&[96, 160, 224]));
    let mut plans = Vec::new();
    for step in 0..400 {
        let side = Resolution::STANDARD[mix.below(5) as usize];
        let ms = 2.0 + mix.unit() * side.side() as f64 / 10.0;
        if let Err(e) = tracker.record(side, ms) {
            panic!("{e}");
        }
        if step % 50 == 25 {
            policy.set_override(Some(Resolution::STANDARD[mix.below(5) as usize]));
        } else if step % 50 == 35 {
            policy.set_override(None);
        }
        let state = DeviceState {
            battery: mix.unit(),
            charging: mix.below(3) == 0,
            power_save: mix.below(5) == 0,
            thermal: thermal[mix.below(4) as usize],
            latency_budget_ms: (mix.below(2) == 0).then(|| 5.0 + mix.unit() * 30.0),
            energy_budget_mj: (mix.below(4) == 0).then(|| 10.0 + mix.unit() * 40.0),
        };
        let available = res(ladders[mix.below(3) as usize]);
        match policy.plan(&state, &tracker, &available) {
            Ok(plan) => plans.push(plan),
            Err(e) => panic!("step {step}: {e}"),
        }
    }
    plans
}

#[test]
fn two_fresh_policies_fed_the_same_sequence_plan_the_same() {
    for seed in [1, 2, 3] {
        let a = replay(&mut Policy::default(), seed);
        let b = replay(&mut Policy::default(), seed);
        assert_eq!(a, b, "seed {seed}");
        // The sequence exercises more than one outcome.
        let distinct: std::collections::BTreeSet<_> = a.iter().map(|p| p.resolution).collect();
        assert!(distinct.len() >= 3, "seed {seed}: {distinct:?}");
        assert!(a.iter().any(|p| p.run_cascade) && a.iter().any(|p| !p.run_cascade));
    }
}

#[test]
fn reset_policy_plans_like_a_fresh_one() {
    let mut used = Policy::default();
    let _ = replay(&mut used, 7);
    used.set_override(None);
    used.reset();
    let fresh = replay(&mut Policy::default(), 9);
    assert_eq!(replay(&mut used, 9), fresh);
}
