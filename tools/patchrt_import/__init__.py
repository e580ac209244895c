"""The importer behind tools/import_model.py: trained MobileNetV2-family weights
(Keras .h5, torchvision and EfficientNet-Lite PyTorch files) into PatchRT's
backbone and patch files (docs/formats.md), one module per job; the module map
is in tools/README.md ("Modules"). The command is cli.main.
"""
