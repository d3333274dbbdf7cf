//! Where each entry of a tile lands in a flat output: a row-major matrix or SciPy's condensed
//! vector. One place for the index arithmetic that the memory and file sinks share.

use std::ops::Range;

use crate::plan::Tile;

/// The shape of a flat output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Layout {
    /// An `n × m` row-major matrix.
    Matrix {
        /// Rows.
        n: usize,
        /// Columns.
        m: usize,
    },
    /// SciPy's condensed vector of the pairs `i < j` of `n` points, row by row.
    Condensed {
        /// Points.
        n: usize,
    },
}

/// A run of one tile row that is contiguous in the output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Row inside the tile.
    pub row: usize,
    /// Columns inside the tile.
    pub cols: Range<usize>,
    /// Offset of the first entry in the flat output, in elements.
    pub offset: u64,
}

impl Layout {
    /// Number of elements of the flat output.
    pub fn len(&self) -> u64 {
        match *self {
            Layout::Matrix { n, m } => n as u64 * m as u64,
            Layout::Condensed { n } => n as u64 * (n as u64).saturating_sub(1) / 2,
        }
    }

    /// Whether the output has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The shape of the output array (2-D matrix or 1-D condensed vector).
    pub fn shape(&self) -> Vec<usize> {
        match *self {
            Layout::Matrix { n, m } => vec![n, m],
            Layout::Condensed { .. } => vec![self.len() as usize],
        }
    }

    /// The contiguous runs a tile contributes to the output, in output order.
    pub fn segments<'b>(&self, tile: &'b Tile) -> impl Iterator<Item = Segment> + 'b {
        let layout = *self;
        let (c0, c1) = (tile.cols.start, tile.cols.end);
        tile.rows.clone().enumerate().filter_map(move |(r, i)| match layout {
            Layout::Matrix { m, .. } => {
                Some(Segment { row: r, cols: 0..c1 - c0, offset: i as u64 * m as u64 + c0 as u64 })
            }
            Layout::Condensed { n } => {
                let j0 = c0.max(i + 1);
                (j0 < c1).then(|| {
                    let (n, i64_) = (n as u64, i as u64);
                    Segment {
                        row: r,
                        cols: j0 - c0..c1 - c0,
                        offset: n * i64_ - i64_ * (i64_ + 1) / 2 + (j0 as u64 - i64_ - 1),
                    }
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn condensed_offsets_match_scipy_order() {
        let n = 7;
        let layout = Layout::Condensed { n };
        let mut seen = vec![None; layout.len() as usize];
        // Cut the square into uneven tiles and check every (i < j) lands where SciPy puts it.
        for rows in [0..3, 3..5, 5..7] {
            for cols in [0..2, 2..6, 6..7] {
                let tile = Tile { rows: rows.clone(), cols: cols.clone() };
                for seg in layout.segments(&tile) {
                    for (k, c) in seg.cols.clone().enumerate() {
                        let (i, j) = (rows.start + seg.row, cols.start + c);
                        assert!(j > i);
                        let slot = &mut seen[seg.offset as usize + k];
                        assert!(slot.is_none(), "({i}, {j}) written twice");
                        *slot = Some((i, j));
                    }
                }
            }
        }
        let expected: Vec<_> = (0..n).flat_map(|i| (i + 1..n).map(move |j| Some((i, j)))).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn matrix_offsets_are_row_major() {
        let layout = Layout::Matrix { n: 4, m: 5 };
        let tile = Tile { rows: 1..3, cols: 2..5 };
        let segs: Vec<_> = layout.segments(&tile).collect();
        assert_eq!(segs.len(), 2);
        assert_eq!((segs[0].offset, segs[1].offset), (7, 12));
        assert_eq!(segs[0].cols, 0..3);
    }
}
