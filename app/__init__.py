"""The people-facing layer: the `strategisok` command and the Gradio chat."""
