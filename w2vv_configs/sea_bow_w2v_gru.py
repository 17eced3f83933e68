class config(object):
    '''SEA (Li et al., IEEE T-MM 2021; li-xirong/sea, configs/sea_resnext101-resnet152_bow_w2v_gru.py) on the release's 2048-d ResNeXt feature (the published config concatenates a ResNet-152 feature to it, 4096-d): bag of words, mean word2vec and GRU mean each -> its own Linear+tanh into its own 2048-d common space, the feature -> a Linear+tanh per space; scores and max-violation hinges (sentence -> image, on cosines) summed over the spaces.'''
    family = 'sea'
    img_feature = 'pyresnext-101_rbps13k,flatten0_output,os'
    bow_vocab = 'word_vocab_5'
    L1_normalize = 0
    L2_normalize = 0
    sent_maxlen = 0            # no cut: the published code pads a batch to its longest sentence
    lstm_size = 1024           # rnn_size
    embed_size = 500           # we_dim, word2vec-initialised
    we_trainable = 1
    gru_impl = 'cudnn'         # torch's GRU: the reset gate after the recurrent product, sigmoid gates
    text_style = 'gru@bow_filterstop@word2vec_filterstop'   # text_encoding = 'bow_nsw@w2v_nsw@gru_mean'
    sequences = False
    n_layers = '0-2048'        # txt_fc_layers = vis_fc_layers = '0-2048'
    loss_fun = 'mrl'           # loss = 'mrl', direction = 't2i', max_violation = True, cost_style = 'sum'
    mrl_margin = 0.2
    activation = 'tanh'
    max_epochs = 80            # the published trainer's --num_epochs
    batch_size = 128
    lr = 0.0001
    lr_decay_rate = 0.99
    lr_schedule = 'torch1.4'   # the torch version its requirements pin
    val_metric = 'mir_t2i'
    optimizer = 'rmsprop'
    optimizer_impl = 'torch'   # torch.optim.RMSprop(lr): alpha 0.99, eps 1e-8 after the root; clip_grad_norm_(2)
    rho = 0.99
    epsilon = 1e-8
    l2_p = 0.000
    clipnorm = 2               # grad_clip
    dropout = 0.2
    set_style = 'ImageSets'
