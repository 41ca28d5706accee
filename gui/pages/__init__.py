"""The wizard's steps: one module and one class each, each runnable on its own for a quick look
(`python -m edgewizard.gui.pages.model_page`)."""
