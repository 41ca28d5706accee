"""EdgeWizard's Qt wizard. Presents and drives edgewizard.core; holds no pipeline logic.

Importing this package imports neither Qt nor TensorFlow: the launcher decides which is needed."""
