"""TinyWorld: the course's generated corpus, its word lists and its n-gram baseline.

This is data, not a lesson: chapter 00 shows what it produces, and no later chapter asks a
learner to read how it is made. `corpus` writes the documents (and their ground truth:
sentiment, entities, answers, each verb's subject), `lexicon` holds the words of the world,
and `ngram` is the counting baseline that BERT has to beat.
"""
