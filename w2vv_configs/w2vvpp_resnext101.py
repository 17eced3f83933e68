class config(object):
    '''W2VV++ (Li et al., ACM MM 2019; li-xirong/w2vvpp, configs/w2vvpp_resnext101_subspace.py): GRU mean over the sentence's steps + mean word2vec + bag of words -> one Linear+tanh into a 2048-d common space; the 2048-d ResNeXt feature -> Linear+tanh into the same space; max-violation hinge, sentence -> image, on cosines.'''
    family = 'w2vvpp'
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
    lr_schedule = 'torch1.2'   # StepLR of torch 1.1-1.3 (its requirements pin 1.1.0): the rate rewritten each epoch
    val_metric = 'mir_t2i'
    optimizer = 'rmsprop'
    optimizer_impl = 'torch'   # torch.optim.RMSprop(lr): alpha 0.99, eps 1e-8 after the root; clip_grad_norm_(2)
    rho = 0.99
    epsilon = 1e-8
    l2_p = 0.000
    clipnorm = 2               # grad_clip
    dropout = 0.2              # dropout = last_dropout = 0.2 in the published config
    set_style = 'ImageSets'
