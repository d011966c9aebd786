"""Character-level text generation: learn a text one character at a time, then write more.

Reads top to bottom as data -> experiment -> export; ``generation`` holds the
graph functions the export serves.
"""

from __future__ import annotations

import keras

from rnnapps.data.text import TextSplits, load_text
from rnnapps.tasks.base import Experiment, Run, Task
from rnnapps.tasks.textgen.config import TextgenConfig
from rnnapps.tasks.textgen.data import (
    VOCABULARY,
    check_lengths,
    encode,
    make_lookups,
    make_vocabulary,
    window_dataset,
    windows_per_epoch,
)
from rnnapps.tasks.textgen.generation import TextGenerator
from rnnapps.tasks.textgen.model import BitsPerChar, CharModel, Perplexity, build_model
from rnnapps.training import Epochs


class TextgenTask(Task):
    """The text-generation task (see ``rnnapps.tasks.base`` for the contract)."""

    name = "textgen"
    config_class = TextgenConfig
    files = (VOCABULARY,)

    def load(self, config: TextgenConfig, verbose: int = 1) -> TextSplits:
        """Loads the text ``config.data`` names."""
        data = config.data
        return load_text(data.data, data.corpus, tfds_dir=data.tfds_dir,
                         val_fraction=data.val_fraction, test_fraction=data.test_fraction,
                         verbose=verbose)

    def experiment(self, config: TextgenConfig, splits: TextSplits) -> Experiment:
        """Builds the vocabulary from the training text, encodes every split,
        windows them and builds the model.

        Raises:
            UsageError: If a split is shorter than ``seq_length + 1`` characters.
        """
        check_lengths(splits, config.data.seq_length)
        keras.utils.set_random_seed(config.train.seed)  # the model's initial weights
        vocabulary = make_vocabulary(splits.train)
        chars_to_ids, _ = make_lookups(vocabulary)
        train_ids, val_ids, test_ids = (encode(chars_to_ids, text) for _, text in splits.items())
        seq, batch, seed = config.data.seq_length, config.train.batch_size, config.train.seed
        model = build_model(config, len(vocabulary) + 1)
        epochs = Epochs(lambda epoch: window_dataset(train_ids, seq, batch, seed=seed, epoch=epoch),
                        -(-windows_per_epoch(len(train_ids), seq) // batch))
        return Experiment(
            model, keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            [BitsPerChar(), Perplexity()], epochs,
            window_dataset(val_ids, seq, batch).cache(), window_dataset(test_ids, seq, batch),
            files={VOCABULARY: vocabulary},
            notes=[f"{splits.source}: {len(splits.train):,} training characters, vocabulary "
                   f"{len(vocabulary)} + OOV, {model.count_params():,} parameters"],
            data_info={"source": splits.source, "train_chars": len(splits.train),
                       "vocabulary": len(vocabulary)})

    def build_model(self, config: TextgenConfig, files: dict) -> CharModel:
        return build_model(config, len(files[VOCABULARY]) + 1)

    def serving(self, run: Run) -> tuple[list, list]:
        """Signatures (all inputs required; ``generate`` is also ``serving_default``):

        * ``generate(seed_text: string[], length: int32[], temperature: float32[],
          top_k: int32[], seed: int64[]) -> {"text": string[]}``: the whole
          generation loop in the graph (``tf.while_loop``); temperature 0 is
          greedy, top_k 0 samples among all characters, equal seeds give equal text.
        * ``generate_batch(seed_texts: string[batch], length: int32[], num_samples:
          int32[], temperature: float32[], top_k: int32[], top_p: float32[], seed:
          int64[]) -> {"texts": string[batch, num_samples]}``: every seed text
          continued ``num_samples`` times in one loop; ``top_p`` < 1 samples from
          the nucleus of that probability mass (1: all characters); the same
          arguments give the same texts, and the first sample of one seed text is
          what ``generate`` gives with the same seed.
        * ``step(ids: int32[batch, time], state: float32[batch, S]) ->
          {"logits": [batch, time, vocab], "state": [batch, S]}``: the next-character
          logits after each input and the state to continue from.
        * ``initial_state(batch_size: int32[]) -> {"state": zeros[batch, S]}``.

        ``vocabulary.json`` beside the model lists the characters of ids 1, 2, ...
        (id 0 is out-of-vocabulary).
        """
        generator = TextGenerator(run.model, run.files[VOCABULARY])
        return ([run.model, generator.chars_to_ids, generator.ids_to_chars],
                [(name, generator.functions[name], generator.signatures[name])
                 for name in ("generate", "generate_batch", "step", "initial_state")])


TASK = TextgenTask()
# The Task's methods as module functions: rnnapps.tasks.textgen.train(config) etc.
load, experiment, train, export, load_run = (TASK.load, TASK.experiment, TASK.train,
                                             TASK.export, TASK.load_run)
