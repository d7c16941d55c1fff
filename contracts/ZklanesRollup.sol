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
/// `[prev_root, new_root, pubdata, deposits, withdrawals]`; `finalize`
/// requires each to be canonical (below the BN254 scalar field modulus `R`),
/// so a stored root or commitment has one encoding only.
///
/// **Deposits L1 accepts are deposits the rollup can process.** A deposit
/// is consumed by the next batch, in queue order, with no skip, so a deposit
/// the executor would refuse would freeze the queue. L1 applies the
/// executor's static rules for a deposit (`TxBody::check_widths` and
/// `apply_tx` in zklanes_executor): the account is `1..=MAX_ACCOUNT`, the
/// asset a token `1..=MAX_TOKEN`, the amount `1..=MAX_AMOUNT`, and a key
/// that creates an account is a valid `PublicKey::point`: both coordinates
/// below `R`, on BabyJubJub (twisted Edwards `x² + y² = 1 + d·x²·y²`,
/// `a = 1`, `d = 168696/168700`, as ark-ed-on-bn254 and the circuit), in
/// the prime-order subgroup (`l·K = O`) and not the identity (`x ≠ 0`).
/// (A credit that would push a balance past 2^112 − 1 is refused by the
/// executor but cannot be seen here; reaching it takes about 2^16 maximal
/// deposits to one account.)
///
/// **L1 assigns account ids.** Accounts are only created by deposits, and
/// only `depositNewAccount` creates one: it names a key but no id, and gets
/// the next id of a counter (`nextAccount`, from 1 on a new chain, at most
/// `MAX_ACCOUNT`). `deposit` tops up an account L1 has already assigned
/// (`1 ≤ account < nextAccount`) and names no key: its queue item carries
/// the zero key `(0, 0)`, which the executor and the circuit ignore for an
/// existing account. Since the Nth creating deposit queued creates account
/// N when the batches consume the queue in order, nobody can create an
/// account someone else named: a front-running creation just gets another
/// id, and a top-up can only reach an account whose key its creator chose.
///
/// Asset custody (escrowing tokens on deposit, paying them out on claim) is
/// not part of this contract: deposits are recorded, claims are accounted.
contract ZklanesRollup {
    uint256 private constant ACCUMULATOR = 12;
    /// The proof's public inputs: the accumulator limbs, then `[prev_root,
    /// new_root, pubdata, deposits, withdrawals, first_batch, last_batch]`.
    uint256 private constant INSTANCES = ACCUMULATOR + 7;

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
    uint256 private constant MAX_ACCOUNT = (1 << ACCOUNT_BITS) - 1;
    /// Largest plain token id: LP shares (`2048..4095`) are never deposited.
    uint256 private constant MAX_TOKEN = (1 << (SLOT_BITS - 1)) - 1;
    uint256 private constant MAX_AMOUNT = (1 << AMOUNT_BITS) - 1;

    /// The BN254 scalar field modulus: the state's field, BabyJubJub's base field.
    uint256 private constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// BabyJubJub's `d` in the `a = 1` form (168696/168700 mod R).
    uint256 private constant EDWARDS_D = 9706598848417545097372247223557719406784115219466060233080913168975159366771;

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
    /// `Poseidon(PubKey, 0, 0)`: the key hash of a top-up's queue item.
    uint256 private immutable zeroKeyHash;

    uint256 public stateRoot;
    uint64 public nextBatch;
    /// Deposits queued so far (the next deposit's queue index).
    uint64 public depositCount;
    /// The first queued deposit that no batch has consumed yet.
    uint64 public depositHead;
    /// The id the next created account gets (ids below it are assigned).
    uint32 public nextAccount;
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
    /// `depositNewAccount` assigned `account` (its deposit is `queueIndex`).
    event AccountCreated(uint32 indexed account, uint64 queueIndex);
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

    /// A rollup whose history starts at `genesisRoot`, batch `firstBatch`,
    /// deposit queue index `firstDeposit` and account id `firstAccount`
    /// (0, 0, 1 for a new chain; a checkpoint otherwise: accounts
    /// `1..firstAccount` exist), for an aggregation tree with `fanIns_`.
    constructor(
        address verifier_,
        address poseidon_,
        uint256 genesisRoot,
        uint64 firstBatch,
        uint64 firstDeposit,
        uint32 firstAccount,
        uint8[] memory fanIns_
    ) {
        require(verifier_.code.length > 0 && poseidon_.code.length > 0, "no contract code");
        require(firstAccount >= 1 && firstAccount <= MAX_ACCOUNT + 1, "first account");
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
        nextAccount = firstAccount;
        zeroKeyHash = IZklanesPoseidon(poseidon_).compress(TAG_PUBKEY, 0, 0);
    }

    /// Creates an account with key `(pubkeyX, pubkeyY)` and queues a
    /// deposit of `amount` of `asset` to it; the sender is recorded as its
    /// L1 sender. The key must be a valid BabyJubJub subgroup point (see
    /// the contract's doc). Returns the deposit's queue index and the
    /// account id L1 assigned (the next one).
    function depositNewAccount(uint256 pubkeyX, uint256 pubkeyY, uint32 asset, uint128 amount)
        external
        returns (uint64 index, uint32 account)
    {
        _checkKey(pubkeyX, pubkeyY);
        account = nextAccount;
        require(account <= MAX_ACCOUNT, "no account id left");
        nextAccount = account + 1;
        index = _queue(account, poseidon.compress(TAG_PUBKEY, pubkeyX, pubkeyY), asset, amount);
        emit AccountCreated(account, index);
        emit DepositQueued(index, msg.sender, account, pubkeyX, pubkeyY, asset, amount);
    }

    /// Queues a deposit of `amount` of `asset` to account `account`, which
    /// L1 has assigned already (its key is the one its creator chose); the
    /// sender is recorded as its L1 sender. Returns its queue index.
    function deposit(uint32 account, uint32 asset, uint128 amount) external returns (uint64 index) {
        require(account >= 1 && account < nextAccount, "account not assigned");
        index = _queue(account, zeroKeyHash, asset, amount);
        emit DepositQueued(index, msg.sender, account, 0, 0, asset, amount);
    }

    /// Checks the asset and amount and stores the next queue item (the
    /// executor's `commitments::deposit_item`).
    function _queue(uint32 account, uint256 keyHash, uint32 asset, uint128 amount) private returns (uint64 index) {
        require(asset >= 1 && asset <= MAX_TOKEN, "asset out of range");
        require(amount >= 1 && amount <= MAX_AMOUNT, "amount out of range");
        index = depositCount;
        require(index >> QUEUE_INDEX_BITS == 0, "deposit queue full");
        uint256 p1 = (uint256(index) << (ACCOUNT_BITS + SLOT_BITS + AMOUNT_BITS))
            | (uint256(account) << (SLOT_BITS + AMOUNT_BITS)) | (uint256(asset) << AMOUNT_BITS) | amount;
        uint256 fields = poseidon.compress(TAG_DEPOSIT_ITEM, p1, uint256(uint160(msg.sender)));
        depositItems[index] = poseidon.compress(TAG_DEPOSIT_KEY, fields, keyHash);
        depositCount = index + 1;
    }

    /// Reverts unless `(x, y)` is what the executor accepts as a new
    /// account's key (`PublicKey::point`): canonical coordinates, on the
    /// curve, `l·K = O`, and not the identity (the one point of the
    /// subgroup with `x = 0`).
    function _checkKey(uint256 x, uint256 y) private pure {
        require(x < R && y < R, "key coordinate out of range");
        uint256 x2 = mulmod(x, x, R);
        uint256 y2 = mulmod(y, y, R);
        require(addmod(x2, y2, R) == addmod(1, mulmod(EDWARDS_D, mulmod(x2, y2, R), R), R), "key not on the curve");
        require(_timesSubgroupOrderIsIdentity(x, y), "key not in the subgroup");
        require(x != 0, "key is the identity");
    }

    /// `l·K = O` for a point `K = (x, y)` on the curve: double-and-add over
    /// the bits of `l` in extended coordinates `(X : Y : Z : T)`, `T = XY/Z`
    /// (Hisil–Wong–Carter–Dawson 2008, dbl-2008-hwcd and madd-2008-hwcd
    /// with `a = 1`; complete on BabyJubJub, whose `d` is not a square, so
    /// there is no exceptional case and no inversion): 250 doublings and
    /// 114 additions, about 125k gas (compiled without the optimizer).
    function _timesSubgroupOrderIsIdentity(uint256 x, uint256 y) private pure returns (bool identity) {
        assembly {
            let p := 21888242871839275222246405745257275088548364400416034343698204186575808495617 // R
            let X := x
            let Y := y
            let Z := 1
            let T := mulmod(x, y, p)
            let kt := mulmod(9706598848417545097372247223557719406784115219466060233080913168975159366771, T, p) // d·T of K
            let xy := addmod(x, y, p)
            // l's top bit is bit 250: start at K (Z = 1).
            for { let i := 250 } i {} {
                i := sub(i, 1)
                {
                    // Doubling: A = X², B = Y², G = A + B, H = A − B,
                    // E = (X + Y)² − G, F = G − 2Z².
                    let A := mulmod(X, X, p)
                    let B := mulmod(Y, Y, p)
                    let G := addmod(A, B, p)
                    A := addmod(A, sub(p, B), p) // H
                    B := addmod(X, Y, p)
                    B := addmod(mulmod(B, B, p), sub(p, G), p) // E
                    let F := addmod(G, sub(p, mulmod(2, mulmod(Z, Z, p), p)), p)
                    X := mulmod(B, F, p)
                    Y := mulmod(G, A, p)
                    T := mulmod(B, A, p)
                    Z := mulmod(F, G, p)
                }
                // Bit i of l, the order of BabyJubJub's prime-order
                // subgroup (cofactor 8; ark_ed_on_bn254::Fr's modulus).
                if and(shr(i, 2736030358979909402780800718157159386076813972158567259200215660948447373041), 1) {
                    // Mixed addition of K: A = X·x, B = Y·y, C = T·d·xy,
                    // E = (X + Y)(x + y) − A − B, F = Z − C, G = Z + C, H = B − A.
                    let A := mulmod(X, x, p)
                    let B := mulmod(Y, y, p)
                    let C := mulmod(T, kt, p)
                    let E := addmod(mulmod(addmod(X, Y, p), xy, p), sub(p, addmod(A, B, p)), p)
                    B := addmod(B, sub(p, A), p) // H
                    A := addmod(Z, sub(p, C), p) // F
                    C := addmod(Z, C, p) // G
                    X := mulmod(E, A, p)
                    Y := mulmod(C, B, p)
                    T := mulmod(E, B, p)
                    Z := mulmod(A, C, p)
                }
            }
            identity := and(iszero(X), eq(Y, Z))
        }
    }

    /// Finalizes the `batches` batches from `firstBatch` on (one batch, or
    /// a bundle) with their final proof and its public inputs, which must
    /// prove exactly those batch numbers. Chunk `i` of
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
        for (uint256 i = 0; i < INSTANCES; i++) {
            require(instances[i] < R, "instance not canonical");
        }
        require(instances[ACCUMULATOR] == stateRoot, "wrong previous root");
        // The proof binds the batch numbers it settles: its chunks carry
        // their batch's number, the aggregation chains them (equal, or one
        // more), and the final proof exposes the first and the last.
        require(instances[ACCUMULATOR + 5] == firstBatch, "first batch not proven");
        require(instances[ACCUMULATOR + 6] == uint256(firstBatch) + batches - 1, "batch count not proven");
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
