"""Modelling layer: training, calibration, evaluation, registry access and explanations.

Submodules are imported explicitly (`models.train`, `models.score`, ...); importing this
package does nothing else: no tracking URI, no logging set-up, no heavy imports.
"""
