"""NumPy reference implementations: the operations the chapters explain, written plainly.

They exist to be read and to be checked against Keras, not to be fast:

* :mod:`utils.reference.conv`: convolution and pooling (the convolutional chapter);
* :mod:`utils.reference.recurrent`: one step of SimpleRNN, LSTM and GRU cells and
  the loop over time (the recurrent chapter).
"""
