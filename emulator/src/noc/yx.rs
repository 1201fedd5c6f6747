//! Dimension-order routing, y first.

use super::{Dir, RoutingPolicy};

/// YX routing: travel north/south until the row matches, then east/west.
#[derive(Clone, Copy, Debug, Default)]
pub struct Yx;

impl RoutingPolicy for Yx {
    #[inline]
    fn next(&self, here: (u32, u32), dst: (u32, u32)) -> Option<Dir> {
        if dst.1 > here.1 {
            Some(Dir::South)
        } else if dst.1 < here.1 {
            Some(Dir::North)
        } else if dst.0 > here.0 {
            Some(Dir::East)
        } else if dst.0 < here.0 {
            Some(Dir::West)
        } else {
            None
        }
    }
}
