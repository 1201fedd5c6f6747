//! Dimension-order routing, x first (the Loihi-consistent default of `hardware.md` §5.3).

use super::{Dir, RoutingPolicy};

/// XY routing: travel east/west until the column matches, then north/south.
#[derive(Clone, Copy, Debug, Default)]
pub struct Xy;

impl RoutingPolicy for Xy {
    #[inline]
    fn next(&self, here: (u32, u32), dst: (u32, u32)) -> Option<Dir> {
        if dst.0 > here.0 {
            Some(Dir::East)
        } else if dst.0 < here.0 {
            Some(Dir::West)
        } else if dst.1 > here.1 {
            Some(Dir::South)
        } else if dst.1 < here.1 {
            Some(Dir::North)
        } else {
            None
        }
    }
}
