"""Writes the numpy-made fixtures of tests/events_files.rs (run from this directory; numpy >= 1.17).

Each file holds the same small data set in a different form and dtype mix, so the Rust reader is checked
against files written by numpy itself, not only by its own writer.
"""
import numpy as np

# sensor (W, H, P) = (4, 3, 2); three samples, the second empty; sample 2 has two events of one channel in
# one 1 ms step (binning merges them)
t = np.array([0, 1500, 1500, 2999, 5, 5, 700], dtype=np.int64)
x = np.array([0, 3, 1, 2, 3, 3, 0], dtype=np.uint8)
y = np.array([0, 2, 1, 0, 2, 2, 1], dtype=np.int16)
p = np.array([False, True, False, True, True, True, False])
offsets = np.array([0, 4, 4, 7], dtype=np.int64)
labels = np.array([2, 0, 9], dtype=np.int32)
np.savez_compressed("xyp.npz", t=t, x=x, y=y, p=p, offsets=offsets, labels=labels,
                    sensor_size=np.array([4, 3, 2], dtype=np.int64))

# channel form, sensor (5): uncompressed, t as uint32
np.savez("chan.npz", t=np.array([10, 20, 20], dtype=np.uint32), channel=np.array([4, 0, 4]),
         offsets=np.array([0, 1, 3]), labels=np.array([1, 3]), sensor_size=np.array([5]))

# the table form of xyp.npz without its empty sample: int32, Fortran order
rows = [(0, 2, 0, 0, 0, 0), (0, 2, 1500, 3, 2, 1), (0, 2, 1500, 1, 1, 0), (0, 2, 2999, 2, 0, 1),
        (1, 9, 5, 3, 2, 1), (1, 9, 5, 3, 2, 1), (1, 9, 700, 0, 1, 0)]
np.save("table.npy", np.asfortranarray(np.array(rows, dtype=np.int32)))
