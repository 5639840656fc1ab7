/** Checkpoints in safetensors (readable by PyTorch), written atomically and verified on read. */
export { save, load, loadInto, encodeCheckpoint, Checkpoint, SaveMeta, LoadOptions, OptimizerState, FORMAT, FORMAT_VERSION } from './checkpoint';
export { encodeSafetensors, decodeSafetensors, readSafetensors, writeSafetensors, writeFileAtomic, RawTensor, SafeDType, CHECKSUM_KEY } from './safetensors';
