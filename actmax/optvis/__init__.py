"""The optimisation engine: objectives, parameterisations, transforms, the ascent loop and gallery renders."""
