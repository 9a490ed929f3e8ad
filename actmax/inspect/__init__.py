"""Plots of a trained network on a photo or its weights: weights, feature maps, deconv, occlusion, CAM."""
