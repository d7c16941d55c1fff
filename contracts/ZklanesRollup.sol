// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// The executor's Poseidon compression (generated: `aggregator/src/poseidon_sol.rs`).
interface IZklanesPoseidon {
    function compress(uint256 t, uint256 a, uint256 b) external pure returns (uint256);
}

/// The L1 settlement of zklanes batches.
///
/// - **State:** the state root, the number of the next batch, the L1 deposit
///   queue (each entry's commitment item, computed here when it is queued)
///   and the position of the first deposit not yet consumed by a batch.
/// - **Finalization:** a batch, or a bundle of consecutive batches proven
///   by one final proof, is accepted when it is the next one, starts
///   at the stored root, its deposit commitment equals the one recomputed
///   here from the queue (so the batch consumed exactly the next queued
///   deposits, in order), its withdrawal commitment equals the one
///   recomputed from the withdrawals given in calldata, and the final
///   aggregation proof verifies (generated verifier at `verifier`).
///   Then the root advances, the queue position advances and each
///   withdrawal becomes claimable by its L1 address.
/// - **Commitments:** each chunk of a batch chains its deposits
///   `c ← P(8, c, item)` and its withdrawals `c ← P(9, c, item)` from 0;
///   the aggregation tree folds each node's children left to right,
///   `c ← P(15 | 16, c, cᵢ)`, layer by layer with the fan-ins given at
///   deployment (zklanes_executor::commitments, aggregator::node).
///
/// The final proof's public inputs are 12 accumulator limbs followed by
/// `[prev_root, new_root, pubdata, deposits, withdrawals]`.
///
/// Asset custody (escrowing tokens on deposit, paying them out on claim) is
/// not part of this contract: deposits are recorded, claims are accounted.
contract ZklanesRollup {
    uint256 private constant ACCUMULATOR = 12;
    uint256 private constant INSTANCES = ACCUMULATOR + 5;

    // Poseidon domain tags (zklanes_executor::poseidon::Tag).
    uint256 private constant TAG_PUBKEY = 5;
    uint256 private constant TAG_DEPOSITS = 8;
    uint256 private constant TAG_WITHDRAWALS = 9;
    uint256 private constant TAG_DEPOSIT_ITEM = 11;
    uint256 private constant TAG_DEPOSIT_KEY = 12;
    uint256 private constant TAG_WITHDRAWAL_ITEM = 13;
    uint256 private constant TAG_FOLD_DEPOSITS = 15;
    uint256 private constant TAG_FOLD_WITHDRAWALS = 16;

    // Field widths (zklanes_executor::params).
    uint256 private constant ACCOUNT_BITS = 20;
    uint256 private constant SLOT_BITS = 12;
    uint256 private constant AMOUNT_BITS = 96;
    uint256 private constant QUEUE_INDEX_BITS = 32;

    /// One withdrawal of a batch, in the order the batch made it.
    struct Withdrawal {
        uint32 account;
        uint32 asset;
        uint128 amount;
        address to;
    }

    address public immutable verifier;
    IZklanesPoseidon public immutable poseidon;
    /// Chunk proofs per batch: the aggregation tree's width.
    uint256 public immutable leaves;
    /// The tree's fan-ins, bottom layer first, 8 bits each.
    uint256 private immutable fanIns;
    uint256 private immutable layers;

    uint256 public stateRoot;
    uint64 public nextBatch;
    /// Deposits queued so far (the next deposit's queue index).
    uint64 public depositCount;
    /// The first queued deposit that no batch has consumed yet.
    uint64 public depositHead;
    /// Commitment item of each queued deposit, by queue index.
    mapping(uint64 => uint256) public depositItems;
    /// Finalized withdrawals not yet claimed: L1 address => asset => amount.
    mapping(address => mapping(uint32 => uint256)) public claimable;
    /// Commitments of each finalized bundle (pubdata, deposits,
    /// withdrawals), by its first batch.
    mapping(uint64 => uint256[3]) public commitments;

    event DepositQueued(
        uint64 indexed queueIndex,
        address indexed sender,
        uint32 account,
        uint256 pubkeyX,
        uint256 pubkeyY,
        uint32 asset,
        uint128 amount
    );
    event BatchesFinalized(
        uint64 indexed firstBatch,
        uint64 batches,
        uint256 newRoot,
        uint256 pubdata,
        uint256 deposits,
        uint256 withdrawals,
        uint64 depositHead
    );
    event WithdrawalClaimed(address indexed to, uint32 asset, uint256 amount);

    /// A rollup whose history starts at `genesisRoot`, batch `firstBatch`
    /// and deposit queue index `firstDeposit` (0, 0 for a new chain; a
    /// checkpoint otherwise), for an aggregation tree with `fanIns_`.
    constructor(
        address verifier_,
        address poseidon_,
        uint256 genesisRoot,
        uint64 firstBatch,
        uint64 firstDeposit,
        uint8[] memory fanIns_
    ) {
        require(verifier_.code.length > 0 && poseidon_.code.length > 0, "no contract code");
        require(fanIns_.length > 0 && fanIns_.length <= 32, "tree layers");
        uint256 width = 1;
        uint256 packed = 0;
        for (uint256 l = 0; l < fanIns_.length; l++) {
            require(fanIns_[l] > 0, "fan-in");
            width *= fanIns_[l];
            packed |= uint256(fanIns_[l]) << (8 * l);
        }
        require(width <= 4096, "tree width");
        verifier = verifier_;
        poseidon = IZklanesPoseidon(poseidon_);
        leaves = width;
        fanIns = packed;
        layers = fanIns_.length;
        stateRoot = genesisRoot;
        nextBatch = firstBatch;
        depositCount = firstDeposit;
        depositHead = firstDeposit;
    }

    /// Queues a deposit of `amount` of `asset` to L2 account `account`
    /// (created with key `(pubkeyX, pubkeyY)` if it does not exist); the
    /// sender is recorded as its L1 sender. Returns its queue index.
    function deposit(uint32 account, uint256 pubkeyX, uint256 pubkeyY, uint32 asset, uint128 amount)
        external
        returns (uint64 index)
    {
        require(account >> ACCOUNT_BITS == 0, "account out of range");
        require(asset >> SLOT_BITS == 0, "asset out of range");
        require(amount >> AMOUNT_BITS == 0, "amount out of range");
        index = depositCount;
        require(index >> QUEUE_INDEX_BITS == 0, "deposit queue full");
        uint256 p1 = (uint256(index) << (ACCOUNT_BITS + SLOT_BITS + AMOUNT_BITS))
            | (uint256(account) << (SLOT_BITS + AMOUNT_BITS)) | (uint256(asset) << AMOUNT_BITS) | amount;
        uint256 key = poseidon.compress(TAG_PUBKEY, pubkeyX, pubkeyY);
        uint256 fields = poseidon.compress(TAG_DEPOSIT_ITEM, p1, uint256(uint160(msg.sender)));
        depositItems[index] = poseidon.compress(TAG_DEPOSIT_KEY, fields, key);
        depositCount = index + 1;
        emit DepositQueued(index, msg.sender, account, pubkeyX, pubkeyY, asset, amount);
    }

    /// Finalizes the `batches` batches from `firstBatch` on (one batch, or
    /// a bundle) with their final proof and its public inputs. Chunk `i` of
    /// the proof (of `leaves`, padding included) consumed `depositCounts[i]`
    /// queued deposits and made `withdrawalCounts[i]` of `withdrawals`.
    function finalize(
        uint64 firstBatch,
        uint64 batches,
        uint256[INSTANCES] calldata instances,
        uint32[] calldata depositCounts,
        Withdrawal[] calldata withdrawals,
        uint32[] calldata withdrawalCounts,
        bytes calldata proof
    ) external {
        require(firstBatch == nextBatch, "batch out of order");
        require(batches > 0 && batches <= leaves, "batches per proof");
        require(instances[ACCUMULATOR] == stateRoot, "wrong previous root");
        require(depositCounts.length == leaves && withdrawalCounts.length == leaves, "one count per chunk");
        uint64 head = _consumeDeposits(depositCounts, instances[ACCUMULATOR + 3]);
        _checkWithdrawals(withdrawals, withdrawalCounts, instances[ACCUMULATOR + 4]);
        (bool ok,) = verifier.staticcall(abi.encodePacked(instances, proof));
        require(ok, "invalid proof");

        _advance(firstBatch, batches, instances, head);
        for (uint256 i = 0; i < withdrawals.length; i++) {
            claimable[withdrawals[i].to][withdrawals[i].asset] += withdrawals[i].amount;
        }
    }

    /// Moves the stored state past a verified bundle.
    function _advance(uint64 firstBatch, uint64 batches, uint256[INSTANCES] calldata instances, uint64 head)
        private
    {
        stateRoot = instances[ACCUMULATOR + 1];
        depositHead = head;
        commitments[firstBatch] = [instances[ACCUMULATOR + 2], instances[ACCUMULATOR + 3], instances[ACCUMULATOR + 4]];
        nextBatch = firstBatch + batches;
        emit BatchesFinalized(
            firstBatch,
            batches,
            instances[ACCUMULATOR + 1],
            instances[ACCUMULATOR + 2],
            instances[ACCUMULATOR + 3],
            instances[ACCUMULATOR + 4],
            head
        );
    }

    /// Claims the sender's finalized withdrawals of `asset`.
    function claim(uint32 asset) external returns (uint256 amount) {
        amount = claimable[msg.sender][asset];
        require(amount > 0, "nothing to claim");
        claimable[msg.sender][asset] = 0;
        emit WithdrawalClaimed(msg.sender, asset, amount);
    }

    /// The batch's deposit commitment from the queue; returns the new head.
    function _consumeDeposits(uint32[] calldata counts, uint256 expected) private view returns (uint64 head) {
        head = depositHead;
        uint256[] memory chains = new uint256[](counts.length);
        for (uint256 i = 0; i < counts.length; i++) {
            uint256 c = 0;
            for (uint256 j = 0; j < counts[i]; j++) {
                require(head < depositCount, "deposit not queued");
                c = poseidon.compress(TAG_DEPOSITS, c, depositItems[head]);
                head++;
            }
            chains[i] = c;
        }
        require(_fold(chains, TAG_FOLD_DEPOSITS) == expected, "deposit commitment");
    }

    /// The batch's withdrawal commitment from calldata.
    function _checkWithdrawals(Withdrawal[] calldata ws, uint32[] calldata counts, uint256 expected) private view {
        uint256[] memory chains = new uint256[](counts.length);
        uint256 w = 0;
        for (uint256 i = 0; i < counts.length; i++) {
            uint256 c = 0;
            for (uint256 j = 0; j < counts[i]; j++) {
                require(w < ws.length, "withdrawal count");
                c = poseidon.compress(TAG_WITHDRAWALS, c, _withdrawalItem(ws[w]));
                w++;
            }
            chains[i] = c;
        }
        require(w == ws.length, "withdrawal count");
        require(_fold(chains, TAG_FOLD_WITHDRAWALS) == expected, "withdrawal commitment");
    }

    function _withdrawalItem(Withdrawal calldata w) private view returns (uint256) {
        require(w.account >> ACCOUNT_BITS == 0, "account out of range");
        require(w.asset >> SLOT_BITS == 0, "asset out of range");
        require(w.amount >> AMOUNT_BITS == 0, "amount out of range");
        uint256 p1 = (uint256(w.account) << (SLOT_BITS + AMOUNT_BITS)) | (uint256(w.asset) << AMOUNT_BITS) | w.amount;
        return poseidon.compress(TAG_WITHDRAWAL_ITEM, p1, uint256(uint160(w.to)));
    }

    /// Folds per-chunk commitments up the tree: each node folds its
    /// children left to right (`level` is overwritten).
    function _fold(uint256[] memory level, uint256 tag) private view returns (uint256) {
        uint256 n = level.length;
        for (uint256 l = 0; l < layers; l++) {
            uint256 f = (fanIns >> (8 * l)) & 0xff;
            uint256 m = n / f;
            for (uint256 g = 0; g < m; g++) {
                uint256 acc = level[g * f];
                for (uint256 k = 1; k < f; k++) {
                    acc = poseidon.compress(tag, acc, level[g * f + k]);
                }
                level[g] = acc;
            }
            n = m;
        }
        return level[0];
    }
}
