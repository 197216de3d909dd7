"""Seq2seq fine-tuning of GLM as blank infilling: the source with a [MASK], the target generated after
`<|startofpiece|>`. `layout` builds the inputs, `datasets` holds processors and prompts, `metrics` scores
generations; decoding lives in `model.decoding` because it drives the model."""
