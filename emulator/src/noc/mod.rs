//! Network-on-chip: a 2-D mesh of routers, one per tile, simulated cycle by cycle but event-driven (only
//! cycles in which a packet can move are visited, so idle links cost nothing).
//!
//! * [`RoutingPolicy`]: where a packet goes next (one file per policy: [`xy`], [`yx`]); [`RoutingKind`]
//!   selects one.
//! * [`mesh::MeshSim`]: routers with finite input buffers, link bandwidth, round-robin arbitration,
//!   contention and back-pressure. Multicast is sent as one unicast packet per destination core. A batch
//!   that stays on its tiles (`run_local`) or in which no packet can wait for another (`run_free`) is
//!   computed in closed form, to the same deliveries, statistics and router state as the cycle loop.

pub mod mesh;
pub mod xy;
pub mod yx;

use serde::{Deserialize, Serialize};

/// A mesh direction. North is y − 1, south is y + 1, east is x + 1, west is x − 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// x + 1.
    East,
    /// x − 1.
    West,
    /// y − 1.
    North,
    /// y + 1.
    South,
}

impl Dir {
    /// Index 0..4 (East, West, North, South): the link index inside a tile.
    pub fn index(self) -> usize {
        match self {
            Dir::East => 0,
            Dir::West => 1,
            Dir::North => 2,
            Dir::South => 3,
        }
    }

    /// Is this an east-west hop?
    pub fn is_ew(self) -> bool {
        matches!(self, Dir::East | Dir::West)
    }
}

/// A routing policy.
///
/// # Contract
/// * `next(here, dst)` returns the direction of the next hop from tile `here` toward tile `dst`, or
///   `None` when `here == dst` (eject to the local core).
/// * Every hop reduces the Manhattan distance by one (minimal routing), so a packet takes exactly
///   |dx| + |dy| hops, and the choice depends only on (`here`, `dst`) (deterministic, no adaptivity).
/// * The set of turns it uses is deadlock-free on a mesh (dimension-order routing).
pub trait RoutingPolicy {
    /// Next hop from `here` toward `dst` (tile coordinates), `None` at the destination.
    fn next(&self, here: (u32, u32), dst: (u32, u32)) -> Option<Dir>;
}

/// Routing policies, selected by name in the chip description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoutingKind {
    /// Dimension-order, x first ([`xy::Xy`]).
    Xy,
    /// Dimension-order, y first ([`yx::Yx`]).
    Yx,
}

impl RoutingPolicy for RoutingKind {
    #[inline]
    fn next(&self, here: (u32, u32), dst: (u32, u32)) -> Option<Dir> {
        match self {
            RoutingKind::Xy => xy::Xy.next(here, dst),
            RoutingKind::Yx => yx::Yx.next(here, dst),
        }
    }
}
