// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// The executor's Poseidon compression (generated: `l1/src/poseidon.rs`).
interface IZklanesPoseidon {
    function compress(uint256 t, uint256 a, uint256 b) external pure returns (uint256);
}

/// The L1 side of zklanes: the rollup's state root, its public data, the
/// L1 queue (deposits and forced withdrawals) and the assets it holds.
///
/// - **State:** the state root, the number of the next batch, the queue
///   (a keccak chain, `queueHash[i]` its value before entry `i`: deposits
///   and forced withdrawals, below), the position of the first entry no
///   batch has consumed yet, the next
///   account id and each account's L1 owner, the asset registry, one
///   word per finalize that made withdrawals (the root of its withdrawal
///   tree and their count, below) and a bitmap of the claimed ones, and the
///   exit mode (below) with what it paid.
/// - **Deposits** (`deposit`, `depositNewAccount`) take the asset into
///   custody (ETH by `msg.value`, an ERC-20 by `transferFrom`) and extend
///   the queue, one new storage word per deposit: `queueHash[i + 1] =
///   link(i) ‖ block(i)`, where `block(i)` (the low 32 bits) is the number
///   of the L1 block that queued deposit `i` (mod 2^32: 1,600 years of
///   12-second blocks) and `link(i)` (the high 224 bits) is the top 224
///   bits of `keccak256(link(i − 1) ‖ account(4) ‖
///   asset(4) ‖ amount(16) ‖ sender(20) ‖ keyHash(32))`, the previous
///   link read with its block bits cleared (`LINK_MASK`). The chain and
///   every comparison run on the masked links only, so the block numbers
///   cost no second storage write and bind nothing. A 224-bit link keeps
///   2^112 collision resistance (finding two deposit sequences with one
///   link costs about 2^112 keccak calls), which is what the queue's
///   binding needs: a batch, or a refund, matches the queue only with the
///   deposits L1 queued.
/// - **Forced withdrawals** (`forceWithdraw`) are queue entries too, with
///   amount 0 and the zero key's hash (below).
/// - **Finalization:** a batch, or a bundle of consecutive batches proven
///   by one final proof, is posted with its public data `data` (the
///   transactions' elements, `zklanes_executor::commitments`) and accepted
///   when, in this order: it is the next batch; every public input is
///   canonical (below the BN254 scalar field modulus `R`, so a stored root
///   has one encoding only); it starts at the stored root; it proves
///   exactly the batch numbers it settles; every data word is below `R`;
///   the data is the data the proof commits to (below); the deposits and
///   forced withdrawals the data carries are the next queued entries, in
///   order; and the final
///   aggregation proof verifies (generated verifier at `verifier`). Then
///   the root, the batch number and the queue head advance, and the
///   withdrawals the data carries (signed or forced) are committed to by
///   one withdrawal root (below), against which `claim` pays each out.
///
/// **The data binding.** The proof's public inputs are 12 accumulator
/// limbs, then `[prev_root, new_root, P, x, y, xn, first_batch,
/// last_batch]`: `P` is the circuit's Poseidon commitment to the data it
/// proved, and the circuit proves that the polynomial with those
/// coefficients, `y = Σ dᵢ·x^(n−1−i)`, and `xn = xⁿ`, take the given values
/// at `x`. Here `x` must equal `keccak256(P ‖ keccak256(data) ‖ n) mod R`,
/// and `y` and `xn` are recomputed from the posted data by Horner. A prover
/// that posts data other than the data behind `P` fixes both before `x` is
/// drawn (from `P` and the posted data), so the two polynomials agree at
/// `x` with probability at most `n/R` (Schwartz–Zippel), and `xn` fixes
/// the length (a leading zero word would not change `y`). No hash runs in
/// the circuit for it and L1 computes no Poseidon: the cost here is the
/// calldata, one keccak over it and one `mulmod`/`addmod` per word. (With
/// EIP-4844 the same interface holds: the data goes in a blob, `keccak256
/// (data)` becomes its versioned hash and the Horner loop the
/// point-evaluation precompile at `x`.)
///
/// **Deposits and withdrawals are read from the bound data.** A
/// transaction's type is the top byte of its first element (`e1 >> 240`,
/// types `1..=8`): a deposit has three elements (`account(3) asset(2)
/// amount(12) sender(20)` over two, then its key hash), every other type
/// two; an unknown type or a truncated transaction reverts. The deposits
/// (type 1) and forced withdrawals (type 8, `account(3) asset(2)
/// amount(14) owner(20)`, chained as the queue holds them: amount 0, the
/// zero key's hash, the owner as sender) are chained from the link of
/// `queueHash[depositHead]` as the queue chains them, and the result must
/// be the queue's link after as many entries (block bits ignored on both
/// sides), so the batch consumed exactly the next queued entries, in
/// order, as L1 queued them (account, asset, amount, sender, key). A
/// withdrawal (type 6) `account(3) asset(2) amount(12) address(20)` and a
/// forced withdrawal (its `owner` as the address) become leaves of the
/// finalize's withdrawal tree (below).
///
/// **Withdrawals: one root per finalize, one claim per leaf.** Each
/// withdrawal of the data, signed or forced, in data order, is a leaf
/// `keccak256(address(20) ‖ asset(4) ‖ amount(16))` (40 bytes: an internal
/// node hashes 64, so no node is a leaf); the leaves are hashed pairwise,
/// level by level, `node = keccak256(left ‖ right)`, an odd last node
/// paired with `bytes32(0)`, up to a root (the leaf itself for one
/// withdrawal; the tree of `n` leaves has depth `⌈log₂ n⌉`). Pairs are not
/// sorted: the path's direction bits are the leaf's index, so each leaf
/// has one index. A finalize with withdrawals stores, in one storage word,
/// `withdrawalRoot[firstBatch] = (root, count)`: the root's top 224 bits
/// (as the queue's links: 2^112 collision resistance, and forging a leaf
/// into a stored root is a 2^224 second preimage) and the number of
/// leaves; one with none stores nothing. `claim(firstBatch, index, to,
/// asset, amount, proof)`, sent by `to`, pays the leaf at `index` once:
/// `index < count`, `proof` exactly the tree's depth long (so `index >>
/// proof.length == 0`), the leaf hashed up through `proof` (bit `l` of the
/// index puts the running node left (0) or right (1) of `proof[l]`) to the
/// stored root, and the index's bit clear in the claimed bitmap of
/// `firstBatch`, which the claim then sets. A forced withdrawal of an
/// empty balance (amount 0) is a leaf like any other, but its claim is
/// refused ("nothing to claim"): it would pay nothing. The proof comes
/// from the finalized data alone (`zklanes claim-proof`,
/// `l1::withdrawals`), so a user claims without the operator.
///
/// **Forced withdrawals: a censored user leaves through L1.** An operator
/// may keep finalizing batches and ignore one user's signed transactions.
/// That user, the L1 owner of an account (`accountOwner`: the sender of
/// the `depositNewAccount` that created it, or named at a checkpoint
/// genesis), calls `forceWithdraw(account, asset)` for a registered plain
/// token (`1..=MAX_TOKEN`). It queues an entry like a deposit, but of
/// amount 0 (a deposit's is at least 1, so the entry is unambiguous: the
/// circuit refuses a deposit of 0) with the zero key's hash and the owner
/// as sender, emitted as `DepositQueued` with amount 0. The batches must
/// consume it in queue order, like every entry: the circuit proves a
/// forced withdrawal (type 8) that moves the account's whole balance of
/// the asset (possibly 0, below 2^112) out of the rollup, and its data
/// names the account, the asset and the owner, which L1 chains against
/// the queue, and the amount: a leaf of the finalize's withdrawal tree,
/// paying the owner (`claim`). The operator cannot skip
/// it without freezing every later deposit, and cannot pay anyone but the
/// owner. Left waiting past `exitDeadlineBlocks`, it lets anyone activate
/// exit mode (below), as a waiting deposit does: a censored user always
/// gets their balance, through a batch or through exit mode.
///
/// **Deposits L1 accepts are deposits the rollup can process.** A deposit
/// is consumed by the next batch, in queue order, with no skip, so a deposit
/// the executor would refuse would freeze the queue. L1 applies the
/// executor's static rules for a deposit (`TxBody::check_widths` and
/// `apply_tx` in zklanes_executor): the account is `1..=MAX_ACCOUNT`, the
/// asset a registered token (`1..=MAX_TOKEN`), the amount `1..=MAX_AMOUNT`,
/// and a key that creates an account is a valid `PublicKey::point`: both
/// coordinates below `R`, on BabyJubJub (twisted Edwards `x² + y² = 1 +
/// d·x²·y²`, `a = 1`, `d = 168696/168700`, as ark-ed-on-bn254 and the
/// circuit), in the prime-order subgroup (`l·K = O`) and not the identity
/// (`x ≠ 0`). One more rule makes the executor's last refusal of a
/// deposit, a credit that would push a balance past `MAX_BALANCE = 2^112 −
/// 1` (`BALANCE_BITS = 112`, `zklanes_executor::params`), impossible
/// rather than unseen: after a deposit's transfer, the contract's custody
/// of the asset (its token balance, or its ETH balance) must stay below
/// 2^112 ("custody over the balance bound"). Every balance, pool reserve
/// and unclaimed withdrawal of an asset, and every queued deposit of it,
/// was paid into that custody and is still held (a claim pays out only
/// what a batch withdrew first), so when the batches process a deposit,
/// the rollup's whole holding of its asset is at most the custody right
/// after that deposit, below 2^112, and so is every balance: L1 never
/// queues a deposit the batches cannot process. (Tokens sent to the
/// contract outside a deposit count too: they can stop deposits of that
/// asset, never the queue.)
///
/// **L1 assigns account ids.** Accounts are only created by deposits, and
/// only `depositNewAccount` creates one: it names a key but no id, and gets
/// the next id of a counter (`nextAccount`, from 1 on a new chain, at most
/// `MAX_ACCOUNT`). `deposit` tops up an account L1 has already assigned
/// (`1 ≤ account < nextAccount`) and names no key: its queue entry carries
/// the zero key's hash (`zeroKeyHash`), and the executor and the circuit
/// ignore the key of an existing account. Since the Nth creating deposit
/// queued creates account N when the batches consume the queue in order,
/// nobody can create an account someone else named: a front-running
/// creation just gets another id, and a top-up can only reach an account
/// whose key its creator chose.
///
/// **Custody.** The governor (the deployer) registers each asset id once:
/// an ERC-20 token, or `address(0)` for ETH. A deposit pulls exactly
/// `amount` (an ERC-20 whose balance here grows by anything else, such as a
/// fee-on-transfer token, is refused; a token that returns no value is
/// accepted when the call succeeds), `claim` pays a leaf out after
/// marking it claimed (checks, effects, interactions). A reentrancy lock is held during
/// a claim and a deposit's token transfer, and every deposit and claim
/// checks it, so no token (or ETH recipient) can run one inside another; a
/// creating deposit takes its account id after its transfer, so ids follow
/// the queue order. What the contract holds of an asset is therefore what
/// was deposited minus what was claimed: the rollup's balances of it plus
/// its unclaimed withdrawals.
///
/// **Exit mode: users can always leave.** An operator that stops
/// processing the queue freezes the rollup: once the oldest queue entry
/// (deposit or forced withdrawal) no batch has consumed (`depositHead <
/// depositCount`) was queued more than `exitDeadlineBlocks` blocks ago
/// (days of blocks in production), anyone may call `activateExitMode`.
/// From then on nothing is finalized, deposited or queued: the last
/// finalized `stateRoot` is the final state, and
/// - `exit` pays an account's balance of a plain asset (`1..=MAX_TOKEN`,
///   registered) to the account's L1 owner, once per (account, asset),
///   given the balance and its Merkle path against `stateRoot`: the leaf
///   `Poseidon(BalanceLeaf, balance, 0)` at index `account << 12 | asset`,
///   hashed up through the 32 siblings (leaf level first; bit `l` of the
///   index puts the running node left (0) or right (1) of sibling `l`,
///   `compress(Node, left, right)`), with the Poseidon contract, as
///   `zklanes_executor::smt::root_from_path` does natively;
/// - `exitLiquidity` pays an account's LP shares of a pool out of the
///   pool's reserves, pro rata (`shares · reserve / lpSupply`, rounded
///   down, for each of the pool's two tokens), given the shares' balance
///   leaf and the pool's leaf `Poseidon(PoolLeaf, lo, hi)` (index `pool`,
///   fields range-checked and packed as `Pool::packed`), both against
///   `stateRoot`, once per (account, pool). The locked minimum liquidity
///   and the rounding stay in the contract;
/// - `refundDeposit` pays a deposit no batch consumed (`index ≥
///   depositHead`) back to its L1 sender, once, given its fields, which
///   must chain from `link(index − 1)` to `link(index)`; a forced
///   withdrawal's entry (amount 0) paid nothing in and is refused (its
///   account's balance exits with `exit`).
/// The L1 owner of an account is the sender of the `depositNewAccount`
/// that created it (recorded then): exits can be sent by anyone, the money
/// goes to the owner. The owner is not the key: anyone may create an
/// account with someone else's key, and its exit then pays them, so a
/// wallet uses only accounts whose `accountOwner` is its own L1 address.
/// (Accounts created before a checkpoint genesis have no recorded owner,
/// unless the constructor names it, and without one cannot exit or force a
/// withdrawal.) Claims of finalized withdrawals stay open. Since every
/// balance, pool reserve and unclaimed withdrawal leaf (signed or forced)
/// of the final state was paid into the contract by consumed deposits, and every
/// unconsumed deposit is refunded at most once, the contract always holds
/// what all of these pay out.
///
/// An operator that stops entirely is always caught: anyone can queue a
/// deposit (a top-up of the smallest amount) to start the clock. An
/// operator that keeps processing the queue but censors one user's
/// transactions is caught by that user's forced withdrawal (above): it
/// must process it, paying the user, or stop processing the queue, which
/// opens exit mode once the deadline passes.
///
/// **Build.** Compiled with the optimizer (200 runs; `l1::rollup::
/// creation_code`): unoptimized, its runtime code passes EIP-170's 24,576
/// bytes.
contract ZklanesRollup {
    uint256 private constant ACCUMULATOR = 12;
    /// The proof's public inputs: the accumulator limbs, then `[prev_root,
    /// new_root, P, x, y, xn, first_batch, last_batch]`.
    uint256 private constant INSTANCES = ACCUMULATOR + 8;
    uint256 private constant PREV_ROOT = ACCUMULATOR;
    uint256 private constant NEW_ROOT = ACCUMULATOR + 1;
    uint256 private constant DATA_COMMITMENT = ACCUMULATOR + 2;
    uint256 private constant CHALLENGE = ACCUMULATOR + 3;
    uint256 private constant EVALUATION = ACCUMULATOR + 4;
    uint256 private constant CHALLENGE_POWER = ACCUMULATOR + 5;
    uint256 private constant FIRST_BATCH = ACCUMULATOR + 6;
    uint256 private constant LAST_BATCH = ACCUMULATOR + 7;

    // Transaction types (zklanes_executor::tx::TxType).
    uint256 private constant TX_DEPOSIT = 1;
    uint256 private constant TX_WITHDRAW = 6;
    uint256 private constant TX_FORCED_WITHDRAW = 8;
    uint256 private constant TX_LAST = 8;

    // Poseidon domain tags (zklanes_executor::poseidon::Tag).
    uint256 private constant TAG_NODE = 1;
    uint256 private constant TAG_BALANCE_LEAF = 3;
    uint256 private constant TAG_POOL_LEAF = 4;
    uint256 private constant TAG_PUBKEY = 5;

    // Field widths (zklanes_executor::params).
    uint256 private constant ACCOUNT_BITS = 20;
    uint256 private constant SLOT_BITS = 12;
    uint256 private constant AMOUNT_BITS = 96;
    uint256 private constant QUEUE_INDEX_BITS = 32;
    uint256 private constant MAX_ACCOUNT = (1 << ACCOUNT_BITS) - 1;
    /// Largest plain token id: LP shares (`2048..4095`) are never deposited.
    uint256 private constant MAX_TOKEN = (1 << (SLOT_BITS - 1)) - 1;
    uint256 private constant MAX_AMOUNT = (1 << AMOUNT_BITS) - 1;
    uint256 private constant MAX_ASSET = (1 << SLOT_BITS) - 1;
    uint256 private constant BALANCE_BITS = 112;
    uint256 private constant BALANCE_MASK = (1 << BALANCE_BITS) - 1;
    /// A pool leaf's low word: `tokenA(12) ‖ tokenB(12) ‖ feeBps(14) ‖ reserveA(112)`.
    uint256 private constant POOL_LO_BITS = 2 * SLOT_BITS + 14 + BALANCE_BITS;
    /// The state tree's depth: leaf index `account(20) ‖ slot(12)`.
    uint256 private constant TREE_DEPTH = 32;
    /// The LP shares of pool `p` are asset `LP_ASSET_BASE + p`.
    uint256 private constant LP_ASSET_BASE = 1 << (SLOT_BITS - 1);

    /// The link bits of a queue word (its high 224 bits); the low 32 hold
    /// the block that queued the deposit.
    uint256 private constant LINK_MASK = 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffff00000000;
    uint256 private constant BLOCK_MASK = 0xffffffff;

    /// The BN254 scalar field modulus: the state's field, BabyJubJub's base field.
    uint256 private constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// BabyJubJub's `d` in the `a = 1` form (168696/168700 mod R).
    uint256 private constant EDWARDS_D = 9706598848417545097372247223557719406784115219466060233080913168975159366771;

    /// A registered asset: its ERC-20 token, or `address(0)` for ETH.
    struct Asset {
        address token;
        bool registered;
    }

    /// A finalize's withdrawals: the top 224 bits of their tree's root and
    /// the number of leaves (one storage word).
    struct WithdrawalTree {
        bytes28 root;
        uint32 count;
    }


    address public immutable verifier;
    IZklanesPoseidon public immutable poseidon;
    /// Registers assets.
    address public immutable governor;
    /// `Poseidon(PubKey, 0, 0)`: the key hash of a top-up's queue entry.
    uint256 public immutable zeroKeyHash;
    /// How many blocks the oldest unconsumed queue entry (deposit or forced
    /// withdrawal) may wait before anyone can switch the contract to exit
    /// mode.
    uint64 public immutable exitDeadlineBlocks;

    uint256 public stateRoot;
    // One storage word: the counters every deposit reads and writes, the
    // reentrancy lock and the exit mode.
    uint64 public nextBatch;
    /// Queue entries (deposits and forced withdrawals) queued so far (the
    /// next one's queue index).
    uint64 public depositCount;
    /// The first queue entry that no batch has consumed yet.
    uint64 public depositHead;
    /// The id the next created account gets (ids below it are assigned).
    uint32 public nextAccount;
    bool private locked;
    /// Set once by `activateExitMode`: no more batches or deposits; exits
    /// and refunds open.
    bool public exitMode;

    /// The deposit queue before deposit `i`: `link(i − 1) ‖ block(i − 1)`
    /// (0 at the genesis one; see the contract's doc).
    mapping(uint64 => bytes32) public queueHash;
    /// The L1 owner of each account `depositNewAccount` created (its sender)
    /// or the constructor named (a checkpoint's): it alone may force a
    /// withdrawal, and exit mode pays it.
    mapping(uint32 => address) public accountOwner;
    /// Exit mode: the balance leaves (`account << 12 | asset`) paid out.
    mapping(uint256 => bool) public exited;
    /// Exit mode: the unconsumed deposits (by queue index) refunded.
    mapping(uint64 => bool) public refunded;
    /// Asset id => its token.
    mapping(uint32 => Asset) public assets;
    /// The withdrawals a finalize made, by its first batch: the top 224
    /// bits of their tree's root and how many leaves it has (one storage
    /// word; absent when it made none).
    mapping(uint64 => WithdrawalTree) public withdrawalRoot;
    /// The claimed leaves of each finalize's withdrawal tree, by its first
    /// batch: bit `index & 255` of word `index >> 8`.
    mapping(uint64 => mapping(uint256 => uint256)) private claimedBits;

    event AssetRegistered(uint32 indexed asset, address token);
    /// A queue entry: a deposit, or with `amount` 0 (and a zero key) a
    /// forced withdrawal of `account`'s whole balance of `asset` to its
    /// owner `sender`.
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
    /// `dataCommitment` is the proof's `P`; the data itself is the calldata.
    event BatchesFinalized(
        uint64 indexed firstBatch, uint64 batches, uint256 newRoot, uint256 dataCommitment, uint64 depositHead
    );
    /// The withdrawals of the finalize from `firstBatch` on: `count` leaves
    /// under `root` (the full root; L1 keeps its top 224 bits).
    event WithdrawalsFinalized(uint64 indexed firstBatch, bytes32 root, uint256 count);
    /// Leaf `index` of the withdrawal tree of `firstBatch` was paid to `to`.
    event WithdrawalClaimed(
        uint64 indexed firstBatch, uint256 index, address indexed to, uint32 asset, uint256 amount
    );
    /// Exit mode started: deposit `depositHead` was queued at block
    /// `queuedAt`; `stateRoot` is the final state.
    event ExitModeActivated(uint64 depositHead, uint256 queuedAt, uint256 stateRoot);
    /// Exit mode: `account`'s balance of `asset` was paid to its owner.
    event Exited(uint32 indexed account, uint32 asset, address indexed owner, uint256 amount);
    /// Exit mode: `account`'s `shares` of `pool` were paid to its owner as
    /// `amountA` and `amountB` of the pool's tokens.
    event LiquidityExited(
        uint32 indexed account, uint32 pool, address indexed owner, uint256 shares, uint256 amountA, uint256 amountB
    );
    /// Exit mode: the unconsumed deposit `queueIndex` went back to its sender.
    event DepositRefunded(uint64 indexed queueIndex, address indexed sender, uint32 asset, uint256 amount);

    modifier nonReentrant() {
        require(!locked, "reentrant call");
        locked = true;
        _;
        locked = false;
    }

    /// A rollup whose history starts at `genesisRoot`, batch `firstBatch`,
    /// queue index `firstDeposit` and account id `firstAccount` (0, 0, 1
    /// for a new chain; a checkpoint otherwise: accounts `1..firstAccount`
    /// exist, with no recorded L1 owner but those `genesisAccounts` names,
    /// whose owners are `genesisOwners`, in order), exit mode possible once
    /// a queue entry waits more than `exitDeadlineBlocks_` blocks. The
    /// deployer is the governor.
    constructor(
        address verifier_,
        address poseidon_,
        uint256 genesisRoot,
        uint64 firstBatch,
        uint64 firstDeposit,
        uint32 firstAccount,
        uint64 exitDeadlineBlocks_,
        uint32[] memory genesisAccounts,
        address[] memory genesisOwners
    ) {
        require(verifier_.code.length > 0 && poseidon_.code.length > 0, "no contract code");
        require(firstAccount >= 1 && firstAccount <= MAX_ACCOUNT + 1, "first account");
        require(genesisRoot < R, "genesis root not canonical");
        require(genesisAccounts.length == genesisOwners.length, "genesis owners");
        for (uint256 i = 0; i < genesisAccounts.length; i++) {
            uint32 account = genesisAccounts[i];
            require(account >= 1 && account < firstAccount && genesisOwners[i] != address(0), "genesis owner");
            accountOwner[account] = genesisOwners[i];
        }
        verifier = verifier_;
        poseidon = IZklanesPoseidon(poseidon_);
        governor = msg.sender;
        stateRoot = genesisRoot;
        nextBatch = firstBatch;
        depositCount = firstDeposit;
        depositHead = firstDeposit;
        nextAccount = firstAccount;
        exitDeadlineBlocks = exitDeadlineBlocks_;
        zeroKeyHash = IZklanesPoseidon(poseidon_).compress(TAG_PUBKEY, 0, 0);
    }

    /// Maps `asset` (a plain token id, once) to the ERC-20 `token`, or to
    /// ETH when `token` is `address(0)`. Governor only.
    function registerAsset(uint32 asset, address token) external {
        require(msg.sender == governor, "not the governor");
        require(asset >= 1 && asset <= MAX_TOKEN, "asset out of range");
        require(!assets[asset].registered, "asset registered");
        require(token == address(0) || token.code.length > 0, "token has no code");
        assets[asset] = Asset(token, true);
        emit AssetRegistered(asset, token);
    }

    /// Creates an account with key `(pubkeyX, pubkeyY)` and queues a
    /// deposit of `amount` of `asset` to it, taken from the sender (the
    /// deposit's L1 sender). The key must be a valid BabyJubJub subgroup
    /// point (see the contract's doc). Returns the deposit's queue index
    /// and the account id L1 assigned (the next one).
    function depositNewAccount(uint256 pubkeyX, uint256 pubkeyY, uint32 asset, uint128 amount)
        external
        payable
        returns (uint64 index, uint32 account)
    {
        _checkKey(pubkeyX, pubkeyY);
        require(nextAccount <= MAX_ACCOUNT, "no account id left");
        _take(asset, amount);
        // Read after the transfer (the lock keeps other deposits out of
        // it): ids follow the queue order.
        account = nextAccount;
        nextAccount = account + 1;
        accountOwner[account] = msg.sender;
        index = _queue(account, _hash(TAG_PUBKEY, pubkeyX, pubkeyY), asset, amount);
        emit AccountCreated(account, index);
        emit DepositQueued(index, msg.sender, account, pubkeyX, pubkeyY, asset, amount);
    }

    /// Queues a deposit of `amount` of `asset` to account `account`, which
    /// L1 has assigned already (its key is the one its creator chose), taken
    /// from the sender (the deposit's L1 sender). Returns its queue index.
    function deposit(uint32 account, uint32 asset, uint128 amount) external payable returns (uint64 index) {
        require(account >= 1 && account < nextAccount, "account not assigned");
        _take(asset, amount);
        index = _queue(account, zeroKeyHash, asset, amount);
        emit DepositQueued(index, msg.sender, account, 0, 0, asset, amount);
    }

    /// Queues a forced withdrawal of `account`'s whole balance of the plain
    /// token `asset` to the sender, who must be the account's L1 owner:
    /// a queue entry of amount 0 (a deposit's is at least 1) with the zero
    /// key's hash, emitted as `DepositQueued` with amount 0. The batches
    /// must consume it in queue order like a deposit (see the contract's
    /// doc); left waiting past the deadline, it opens exit mode. Returns
    /// its queue index.
    function forceWithdraw(uint32 account, uint32 asset) external returns (uint64 index) {
        require(!locked, "reentrant call");
        require(!exitMode, "exit mode");
        // Only accounts L1 assigned have an owner (a creating deposit, or
        // the genesis), and the owner is never the zero address.
        require(msg.sender == accountOwner[account] && msg.sender != address(0), "not the account's owner");
        // Only plain tokens (`1..=MAX_TOKEN`) are ever registered.
        (, bool registered) = _asset(asset);
        require(registered, "asset not registered");
        index = _queue(account, zeroKeyHash, asset, 0);
        emit DepositQueued(index, msg.sender, account, 0, 0, asset, 0);
    }

    /// Takes exactly `amount` of `asset` from the sender into custody, which
    /// must stay below 2^112 (the executor's balance bound: see the
    /// contract's doc). No deposit or claim can run inside another's token
    /// transfer (the lock); an ETH deposit makes no call, so it only checks
    /// the lock.
    function _take(uint32 asset, uint128 amount) private {
        require(!locked, "reentrant call");
        require(!exitMode, "exit mode");
        require(amount >= 1 && amount <= MAX_AMOUNT, "amount out of range");
        (address token, bool registered) = _asset(asset);
        require(registered, "asset not registered");
        if (token == address(0)) {
            require(msg.value == amount, "wrong ETH value");
            require(address(this).balance >> BALANCE_BITS == 0, "custody over the balance bound");
            return;
        }
        require(msg.value == 0, "ETH sent with a token");
        locked = true;
        uint256 before = _balance(token);
        _call(token, abi.encodeWithSelector(0x23b872dd, msg.sender, address(this), uint256(amount)));
        uint256 held = _balance(token);
        require(held - before == amount, "token took a fee");
        require(held >> BALANCE_BITS == 0, "custody over the balance bound");
        locked = false;
    }

    /// `assets[asset]`, read as one word.
    function _asset(uint32 asset) private view returns (address token, bool registered) {
        assembly {
            mstore(0, asset)
            mstore(0x20, assets.slot)
            let w := sload(keccak256(0, 0x40))
            token := and(w, 0xffffffffffffffffffffffffffffffffffffffff)
            registered := and(shr(160, w), 0xff)
        }
    }

    /// Appends the next queue entry (queue index bounded by its width):
    /// `queueHash[index + 1] = link ‖ block.number` with `link` the top 224
    /// bits of `keccak256(link(index − 1) ‖ account(4) ‖ asset(4) ‖
    /// amount(16) ‖ sender(20) ‖ keyHash(32))` (as `_link`, inline here).
    function _queue(uint32 account, uint256 keyHash, uint32 asset, uint128 amount) private returns (uint64 index) {
        index = depositCount;
        require(index >> QUEUE_INDEX_BITS == 0, "deposit queue full");
        address sender = msg.sender;
        assembly {
            // queueHash[k] lives at keccak256(k ‖ slot).
            mstore(0x20, queueHash.slot)
            mstore(0, index)
            let m := mload(0x40)
            // Each store writes zeros after its field; the next overwrites them.
            mstore(m, and(sload(keccak256(0, 0x40)), LINK_MASK))
            mstore(add(m, 32), shl(224, account))
            mstore(add(m, 36), shl(224, asset))
            mstore(add(m, 40), shl(128, amount))
            mstore(add(m, 56), shl(96, sender))
            mstore(add(m, 76), keyHash)
            let h := or(and(keccak256(m, 108), LINK_MASK), and(number(), BLOCK_MASK))
            mstore(0, add(index, 1))
            sstore(keccak256(0, 0x40), h)
        }
        depositCount = index + 1;
    }

    /// The queue link after `prev` (a queue word; its block bits are
    /// ignored) for a deposit with these fields: the top 224 bits of
    /// `keccak256(prev & LINK_MASK ‖ account(4) ‖ asset(4) ‖ amount(16) ‖
    /// sender(20) ‖ keyHash(32))`, block bits zero.
    function _link(bytes32 prev, uint32 account, uint32 asset, uint128 amount, address sender, uint256 keyHash)
        private
        pure
        returns (bytes32 link)
    {
        assembly {
            let m := mload(0x40)
            mstore(m, and(prev, LINK_MASK))
            mstore(add(m, 32), shl(224, account))
            mstore(add(m, 36), shl(224, asset))
            mstore(add(m, 40), shl(128, amount))
            mstore(add(m, 56), shl(96, sender))
            mstore(add(m, 76), keyHash)
            link := and(keccak256(m, 108), LINK_MASK)
        }
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
    /// 114 additions, about 125k gas.
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
    /// a bundle) with their public data `data`, their final proof and its
    /// public inputs, which must prove exactly those batch numbers and that
    /// data (see the contract's doc for the checks and their order).
    function finalize(
        uint64 firstBatch,
        uint64 batches,
        uint256[INSTANCES] calldata instances,
        uint256[] calldata data,
        bytes calldata proof
    ) external {
        require(!exitMode, "exit mode");
        require(firstBatch == nextBatch, "batch out of order");
        require(batches > 0, "no batch");
        for (uint256 i = 0; i < INSTANCES; i++) {
            require(instances[i] < R, "instance not canonical");
        }
        require(instances[PREV_ROOT] == stateRoot, "wrong previous root");
        // The proof binds the batch numbers it settles: its chunks carry
        // their batch's number, the aggregation chains them (equal, or one
        // more), and the final proof exposes the first and the last.
        require(instances[FIRST_BATCH] == firstBatch, "first batch not proven");
        require(instances[LAST_BATCH] == uint256(firstBatch) + batches - 1, "batch count not proven");
        _checkEvaluation(instances, data);
        (uint64 head, bytes32 root, uint256 withdrawals) = _settleData(data);
        (bool ok,) = verifier.staticcall(abi.encodePacked(instances, proof));
        require(ok, "invalid proof");

        stateRoot = instances[NEW_ROOT];
        depositHead = head;
        nextBatch = firstBatch + batches;
        if (withdrawals > 0) {
            // One storage word. The count fits 32 bits: each withdrawal
            // takes 64 bytes of calldata.
            withdrawalRoot[firstBatch] = WithdrawalTree(bytes28(root), uint32(withdrawals));
            emit WithdrawalsFinalized(firstBatch, root, withdrawals);
        }
        emit BatchesFinalized(firstBatch, batches, instances[NEW_ROOT], instances[DATA_COMMITMENT], head);
    }

    /// Requires the proof's challenge to be `keccak256(P ‖ keccak256(data)
    /// ‖ n) mod R` and its evaluation and `xⁿ` to be those of `data` (every
    /// word below `R`), by Horner over the calldata.
    function _checkEvaluation(uint256[INSTANCES] calldata instances, uint256[] calldata data) private pure {
        uint256 p = instances[DATA_COMMITMENT];
        uint256 x;
        uint256 y;
        uint256 xn = 1;
        bool canonical = true;
        assembly {
            let n := data.length
            let m := mload(0x40)
            calldatacopy(m, data.offset, shl(5, n))
            let dataHash := keccak256(m, shl(5, n))
            mstore(m, p)
            mstore(add(m, 32), dataHash)
            mstore(add(m, 64), n)
            // R on the stack: the optimizer may build a constant from
            // cheaper code than a PUSH32, which the loop would pay per word.
            let r := R
            x := mod(keccak256(m, 96), r)
            let end := add(data.offset, shl(5, n))
            for { let at := data.offset } lt(at, end) { at := add(at, 32) } {
                let d := calldataload(at)
                canonical := and(canonical, lt(d, r))
                y := addmod(mulmod(y, x, r), d, r)
                xn := mulmod(xn, x, r)
            }
        }
        require(canonical, "data not canonical");
        require(instances[CHALLENGE] == x, "wrong challenge");
        require(instances[EVALUATION] == y, "data differs from the proof");
        require(instances[CHALLENGE_POWER] == xn, "data length differs from the proof");
    }

    /// Reads the data's transactions: chains its deposits and forced
    /// withdrawals from the queue head and requires the queue's hash after
    /// them; hashes its withdrawals (signed and forced), in data order, into
    /// the leaves of a withdrawal tree (see the contract's doc). Returns the
    /// new queue head, the tree's root and its number of leaves (0, and a
    /// zero root, when there is no withdrawal).
    function _settleData(uint256[] calldata data) private view returns (uint64 head, bytes32 root, uint256 count) {
        head = depositHead;
        // Links only: the block bits are masked off (see the contract's doc).
        bytes32 h = queueHash[head] & bytes32(LINK_MASK);
        // An immutable cannot be read in assembly.
        uint256 zeroKey = zeroKeyHash;
        uint256 consumed = 0;
        // 0: parsed; 1: an unknown type; 2: a truncated transaction.
        uint256 failure = 0;
        assembly {
            let at := data.offset
            let end := add(at, shl(5, data.length))
            // m: 108 bytes of scratch for the hashes; the leaves from m + 128.
            let m := mload(0x40)
            for {} lt(at, end) {} {
                let e1 := calldataload(at)
                let kind := shr(240, e1)
                if or(iszero(kind), gt(kind, TX_LAST)) {
                    failure := 1
                    break
                }
                // A deposit has 3 elements, every other type 2.
                let size := 64
                if eq(kind, TX_DEPOSIT) { size := 96 }
                if gt(add(at, size), end) {
                    failure := 2
                    break
                }
                if or(or(eq(kind, TX_DEPOSIT), eq(kind, TX_WITHDRAW)), eq(kind, TX_FORCED_WITHDRAW)) {
                    let e2 := calldataload(add(at, 32))
                    let asset := and(shr(200, e1), 0xffff)
                    // Deposit and withdrawal: account(3) asset(2)
                    // amount(12) address(20), 13 bytes of the address end
                    // e1 (31 bytes), 7 begin e2.
                    let to := or(shl(56, and(e1, 0xffffffffffffffffffffffffff)), shr(192, e2))
                    let amount := and(shr(104, e1), 0xffffffffffffffffffffffff)
                    let keyHash := zeroKey
                    if eq(kind, TX_FORCED_WITHDRAW) {
                        // account(3) asset(2) amount(14) owner(20): 11
                        // bytes of the owner end e1, 9 begin e2.
                        to := or(shl(72, and(e1, 0xffffffffffffffffffffff)), shr(176, e2))
                        amount := and(shr(88, e1), 0xffffffffffffffffffffffffffff)
                    }
                    if eq(kind, TX_DEPOSIT) { keyHash := calldataload(add(at, 64)) }
                    if iszero(eq(kind, TX_WITHDRAW)) {
                        // The queue's link, as `_queue` makes it: a deposit
                        // with its amount and key hash (its third element),
                        // a forced withdrawal with amount 0 and the zero
                        // key's hash, its owner as the sender.
                        let queued := amount
                        if eq(kind, TX_FORCED_WITHDRAW) { queued := 0 }
                        mstore(m, h)
                        mstore(add(m, 32), shl(224, and(shr(216, e1), 0xffffff)))
                        mstore(add(m, 36), shl(224, asset))
                        mstore(add(m, 40), shl(128, queued))
                        mstore(add(m, 56), shl(96, to))
                        mstore(add(m, 76), keyHash)
                        h := and(keccak256(m, 108), LINK_MASK)
                        consumed := add(consumed, 1)
                    }
                    if iszero(eq(kind, TX_DEPOSIT)) {
                        // The next leaf: keccak256(to(20) ‖ asset(4) ‖
                        // amount(16)).
                        mstore(m, shl(96, to))
                        mstore(add(m, 20), shl(224, asset))
                        mstore(add(m, 24), shl(128, amount))
                        mstore(add(add(m, 128), shl(5, count)), keccak256(m, 40))
                        count := add(count, 1)
                    }
                }
                at := add(at, size)
            }
            // The tree, level by level in place: node i of the next level
            // overwrites slot i, whose pair (2i, 2i + 1) is read first; an
            // odd last node is paired with the zero word written after it.
            if count {
                let leaves := add(m, 128)
                for { let n := count } gt(n, 1) {} {
                    mstore(add(leaves, shl(5, n)), 0)
                    let half := shr(1, add(n, 1))
                    for { let i := 0 } lt(i, half) { i := add(i, 1) } {
                        mstore(add(leaves, shl(5, i)), keccak256(add(leaves, shl(6, i)), 64))
                    }
                    n := half
                }
                root := mload(leaves)
            }
        }
        require(failure != 1, "unknown transaction type");
        require(failure != 2, "truncated transaction");
        head += uint64(consumed);
        require(head <= depositCount, "deposit not queued");
        require(h == queueHash[head] & bytes32(LINK_MASK), "deposits differ from the queue");
    }

    /// Pays leaf `index` of the withdrawal tree of the finalize from
    /// `firstBatch` on, `amount` of `asset` to `to` (the sender), once,
    /// given the leaf's path `proof` (leaf level first, exactly the tree's
    /// depth; see the contract's doc). Open in exit mode too. A leaf of
    /// amount 0 (a forced withdrawal of an empty balance) is refused:
    /// nothing to claim.
    function claim(
        uint64 firstBatch,
        uint256 index,
        address to,
        uint32 asset,
        uint128 amount,
        bytes32[] calldata proof
    ) external nonReentrant {
        require(msg.sender == to, "not the recipient");
        require(amount > 0, "nothing to claim");
        WithdrawalTree memory tree = withdrawalRoot[firstBatch];
        require(index < tree.count, "no such withdrawal");
        require(proof.length == _treeDepth(tree.count) && index >> proof.length == 0, "wrong proof length");
        require(bytes28(_leafRoot(index, to, asset, amount, proof)) == tree.root, "not a finalized withdrawal");
        uint256 bits = claimedBits[firstBatch][index >> 8];
        uint256 bit = 1 << (index & 0xff);
        require(bits & bit == 0, "withdrawal claimed");
        (address token, bool registered) = _asset(asset);
        require(registered, "asset not registered");
        claimedBits[firstBatch][index >> 8] = bits | bit;
        emit WithdrawalClaimed(firstBatch, index, to, asset, amount);
        _pay(token, to, amount);
    }

    /// Whether leaf `index` of the withdrawal tree of `firstBatch` was claimed.
    function isClaimed(uint64 firstBatch, uint256 index) external view returns (bool) {
        return (claimedBits[firstBatch][index >> 8] >> (index & 0xff)) & 1 == 1;
    }

    /// The depth of a withdrawal tree of `count` leaves: `⌈log₂ count⌉`.
    function _treeDepth(uint256 count) private pure returns (uint256 depth) {
        while ((1 << depth) < count) {
            depth++;
        }
    }

    /// The root the leaf `keccak256(to ‖ asset ‖ amount)` at `index` hashes
    /// up to through `proof` (leaf level first): at level `l`,
    /// `keccak256(node ‖ proof[l])` when bit `l` of the index is 0, else
    /// `keccak256(proof[l] ‖ node)`.
    function _leafRoot(uint256 index, address to, uint32 asset, uint128 amount, bytes32[] calldata proof)
        private
        pure
        returns (bytes32 node)
    {
        node = keccak256(abi.encodePacked(to, asset, amount));
        assembly {
            for { let l := 0 } lt(l, proof.length) { l := add(l, 1) } {
                let s := calldataload(add(proof.offset, shl(5, l)))
                switch and(shr(l, index), 1)
                case 0 {
                    mstore(0, node)
                    mstore(0x20, s)
                }
                default {
                    mstore(0, s)
                    mstore(0x20, node)
                }
                node := keccak256(0, 0x40)
            }
        }
    }

    /// Switches the contract to exit mode, for good: anyone may, once the
    /// oldest queue entry no batch has consumed (a deposit, or a forced
    /// withdrawal the operator ignores: the censorship resistance) was
    /// queued more than
    /// `exitDeadlineBlocks` blocks ago (its block is the low 32 bits of the
    /// queue word after it). Then `finalize` and deposits revert and
    /// `exit`, `exitLiquidity` and `refundDeposit` open.
    function activateExitMode() external {
        require(!exitMode, "exit mode");
        uint64 head = depositHead;
        require(head < depositCount, "no deposit waiting");
        uint256 queuedAt = uint256(queueHash[head + 1]) & BLOCK_MASK;
        require(block.number > queuedAt + exitDeadlineBlocks, "deadline not passed");
        exitMode = true;
        emit ExitModeActivated(head, queuedAt, stateRoot);
    }

    /// Exit mode: pays `account`'s `balance` of the plain asset `asset` to
    /// the account's L1 owner, once, given the balance leaf's Merkle path
    /// `siblings` (leaf level first) against the last finalized root.
    /// Anyone may send it.
    function exit(uint32 account, uint32 asset, uint128 balance, uint256[TREE_DEPTH] calldata siblings)
        external
        nonReentrant
    {
        require(asset >= 1 && asset <= MAX_TOKEN, "not a plain asset");
        (address token, bool registered) = _asset(asset);
        require(registered, "asset not registered");
        address owner = _exitBalance(account, asset, balance, siblings);
        emit Exited(account, asset, owner, balance);
        _pay(token, owner, balance);
    }

    /// Exit mode: pays `account`'s `shares` of pool `pool` to the
    /// account's L1 owner as its pro-rata part of the pool's reserves
    /// (rounded down), once, given the shares' balance leaf (asset
    /// `LP_ASSET_BASE + pool`) with its path `shareSiblings` and the pool's
    /// leaf, packed as `(poolLo, poolHi)` (`Pool::packed`: `lo = tokenA(12)
    /// ‖ tokenB(12) ‖ feeBps(14) ‖ reserveA(112)`, `hi = reserveB(112) ‖
    /// lpSupply(112)`), with its path `poolSiblings`, both against the last
    /// finalized root. Anyone may send it.
    function exitLiquidity(
        uint32 account,
        uint32 pool,
        uint128 shares,
        uint256[TREE_DEPTH] calldata shareSiblings,
        uint256 poolLo,
        uint256 poolHi,
        uint256[TREE_DEPTH] calldata poolSiblings
    ) external nonReentrant {
        require(pool >= 1 && pool < LP_ASSET_BASE, "pool out of range");
        address owner = _exitBalance(account, uint32(LP_ASSET_BASE + pool), shares, shareSiblings);
        // Within their widths, the packed words determine the fields; the
        // pool registry is account 0, so the pool's leaf index is `pool`.
        require(poolLo >> POOL_LO_BITS == 0 && poolHi >> (2 * BALANCE_BITS) == 0, "pool field out of range");
        uint256 leafHash = _hash(TAG_POOL_LEAF, poolLo, poolHi);
        require(_pathRoot(pool, leafHash, poolSiblings) == stateRoot, "not the final state");
        uint256 supply = poolHi & BALANCE_MASK;
        // shares ≤ lpSupply < 2^112 and reserves < 2^112: no overflow.
        uint256 amountA = shares * (poolLo & BALANCE_MASK) / supply;
        uint256 amountB = shares * (poolHi >> BALANCE_BITS) / supply;
        emit LiquidityExited(account, pool, owner, shares, amountA, amountB);
        _payAsset(uint32(poolLo >> (POOL_LO_BITS - SLOT_BITS)), owner, amountA);
        _payAsset(uint32(poolLo >> (POOL_LO_BITS - 2 * SLOT_BITS)) & uint32(MAX_ASSET), owner, amountB);
    }

    /// Exit mode: pays the deposit queued at `index`, which no batch
    /// consumed, back to its L1 sender, once, given its fields as queued
    /// (they must chain from the link before it to the link after it).
    /// Anyone may send it.
    function refundDeposit(
        uint64 index,
        uint32 account,
        uint32 asset,
        uint128 amount,
        address sender,
        uint256 keyHash
    ) external nonReentrant {
        require(exitMode, "not in exit mode");
        require(index >= depositHead, "deposit consumed");
        require(index < depositCount, "deposit not queued");
        require(!refunded[index], "deposit refunded");
        // A forced withdrawal's entry (amount 0) has nothing to refund.
        require(amount > 0, "not a deposit");
        bytes32 link = _link(queueHash[index], account, asset, amount, sender, keyHash);
        require(link == queueHash[index + 1] & bytes32(LINK_MASK), "not the queued deposit");
        refunded[index] = true;
        (address token,) = _asset(asset);
        emit DepositRefunded(index, sender, asset, amount);
        _pay(token, sender, amount);
    }

    /// Exit mode: checks that `account` (`1..=MAX_ACCOUNT`, created by
    /// `depositNewAccount` here) holds `balance` (nonzero) of `asset` in
    /// the final state (the balance leaf's path `siblings`) and has not
    /// exited it yet, marks it exited and returns the account's L1 owner.
    function _exitBalance(uint32 account, uint32 asset, uint128 balance, uint256[TREE_DEPTH] calldata siblings)
        private
        returns (address owner)
    {
        require(exitMode, "not in exit mode");
        require(account >= 1 && account <= MAX_ACCOUNT, "account out of range");
        owner = accountOwner[account];
        require(owner != address(0), "account has no L1 owner");
        uint256 leaf = (uint256(account) << SLOT_BITS) | asset;
        require(!exited[leaf], "already exited");
        require(balance > 0, "no balance");
        uint256 leafHash = _hash(TAG_BALANCE_LEAF, balance, 0);
        require(_pathRoot(leaf, leafHash, siblings) == stateRoot, "not the final state");
        exited[leaf] = true;
    }

    /// `poseidon.compress(t, a, b)` (reverts on a failed call, such as a
    /// non-canonical input).
    function _hash(uint256 t, uint256 a, uint256 b) private view returns (uint256 h) {
        address hasher = address(poseidon);
        bytes4 compress = IZklanesPoseidon.compress.selector;
        bool ok;
        assembly {
            let m := mload(0x40)
            mstore(m, compress)
            mstore(add(m, 4), t)
            mstore(add(m, 36), a)
            mstore(add(m, 68), b)
            ok := staticcall(gas(), hasher, m, 100, 0, 32)
            h := mload(0)
        }
        require(ok, "poseidon failed");
    }

    /// The root a leaf hash `leafHash` at index `index` hashes up to through
    /// `siblings` (leaf level first): at level `l`, `compress(Node, node,
    /// sibling)` when bit `l` of the index is 0, else `compress(Node,
    /// sibling, node)` (`zklanes_executor::smt::root_from_path`). Every
    /// sibling must be canonical.
    function _pathRoot(uint256 index, uint256 leafHash, uint256[TREE_DEPTH] calldata siblings)
        private
        view
        returns (uint256 node)
    {
        address hasher = address(poseidon);
        bytes4 compress = IZklanesPoseidon.compress.selector;
        bool canonical = true;
        bool ok = true;
        node = leafHash;
        assembly {
            let m := mload(0x40)
            mstore(m, compress)
            mstore(add(m, 4), TAG_NODE)
            for { let l := 0 } lt(l, TREE_DEPTH) { l := add(l, 1) } {
                let s := calldataload(add(siblings, shl(5, l)))
                canonical := and(canonical, lt(s, R))
                switch and(shr(l, index), 1)
                case 0 {
                    mstore(add(m, 36), node)
                    mstore(add(m, 68), s)
                }
                default {
                    mstore(add(m, 36), s)
                    mstore(add(m, 68), node)
                }
                ok := and(ok, staticcall(gas(), hasher, m, 100, 0, 32))
                node := mload(0)
            }
        }
        require(canonical, "sibling not canonical");
        require(ok, "poseidon failed");
    }

    /// Pays `amount` (nothing when 0) of the registered asset `asset` to `to`.
    function _payAsset(uint32 asset, address to, uint256 amount) private {
        if (amount == 0) {
            return;
        }
        (address token, bool registered) = _asset(asset);
        require(registered, "asset not registered");
        _pay(token, to, amount);
    }

    /// Sends `amount` of `token` (`address(0)`: ETH) to `to`; reverts if
    /// the transfer fails. Callers hold the lock and have written their
    /// effects (checks, effects, interactions).
    function _pay(address token, address to, uint256 amount) private {
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            require(ok, "ETH transfer failed");
        } else {
            _call(token, abi.encodeWithSelector(0xa9059cbb, to, amount));
        }
    }

    /// Calls an ERC-20 `token`: the call must succeed and return nothing or `true`.
    function _call(address token, bytes memory payload) private {
        (bool ok, bytes memory ret) = token.call(payload);
        require(ok && (ret.length == 0 || abi.decode(ret, (bool))), "token transfer failed");
    }

    function _balance(address token) private view returns (uint256) {
        (bool ok, bytes memory ret) = token.staticcall(abi.encodeWithSelector(0x70a08231, address(this)));
        require(ok && ret.length >= 32, "token balance");
        return abi.decode(ret, (uint256));
    }
}
