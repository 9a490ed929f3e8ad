"""Images to files: numpy and Pillow only (never TensorFlow), grids, colormaps, progress bars."""
