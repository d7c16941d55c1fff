// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// The L1 settlement of zklanes batches.
///
/// It keeps the state root and the number of the next batch, and accepts a
/// batch when the final aggregation proof verifies (generated verifier at
/// `verifier`) for a transition that starts at the stored root. The final
/// proof's public inputs are 12 accumulator limbs followed by
/// `[prev_root, new_root, pubdata, deposits, withdrawals]`.
contract ZklanesRollup {
    uint256 private constant ACCUMULATOR = 12;
    uint256 private constant INSTANCES = ACCUMULATOR + 5;

    address public immutable verifier;
    uint256 public stateRoot;
    uint64 public nextBatch;

    /// Commitments of each finalized batch (pubdata, deposits, withdrawals).
    mapping(uint64 => uint256[3]) public commitments;

    event BatchFinalized(
        uint64 indexed batch,
        uint256 newRoot,
        uint256 pubdata,
        uint256 deposits,
        uint256 withdrawals
    );

    constructor(address verifier_, uint256 genesisRoot) {
        verifier = verifier_;
        stateRoot = genesisRoot;
    }

    /// Finalizes `batch` with its final proof and public inputs.
    function finalize(
        uint64 batch,
        uint256[INSTANCES] calldata instances,
        bytes calldata proof
    ) external {
        require(batch == nextBatch, "batch out of order");
        require(instances[ACCUMULATOR] == stateRoot, "wrong previous root");
        (bool ok, ) = verifier.staticcall(abi.encodePacked(instances, proof));
        require(ok, "invalid proof");
        stateRoot = instances[ACCUMULATOR + 1];
        commitments[batch] = [
            instances[ACCUMULATOR + 2],
            instances[ACCUMULATOR + 3],
            instances[ACCUMULATOR + 4]
        ];
        nextBatch = batch + 1;
        emit BatchFinalized(
            batch,
            instances[ACCUMULATOR + 1],
            instances[ACCUMULATOR + 2],
            instances[ACCUMULATOR + 3],
            instances[ACCUMULATOR + 4]
        );
    }
}
