//! The peers, one module each, all implementing [`crate::Peer`] plus a supervisor restart
//! workload (`restart`), which differs too much between frameworks to be generic.

pub mod actix;
pub mod beamline;
pub mod kameo;
pub mod ractor;
pub mod tokio_raw;

/// The column name of kameo in this build: with the `kameo-console` feature, kameo is compiled
/// with its `console` feature (per-actor monitors in a global registry) and reported apart.
pub const KAMEO: &str = if cfg!(feature = "kameo-console") {
    "kameo-console"
} else {
    "kameo"
};

/// Silence the default panic message: the restart workloads crash on purpose, thousands of
/// times, and printing each would time stderr rather than the runtime.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|_| {}));
}
