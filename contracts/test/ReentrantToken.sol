// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

interface IClaim {
    function claim(
        uint64 firstBatch,
        uint256 index,
        address to,
        uint32 asset,
        uint128 amount,
        bytes32[] calldata proof
    ) external;
}

/// A hostile ERC-20: while the Rollup contract pays it out (its `transfer`
/// called by the rollup during `attack`'s claim), it sends the same claim
/// again and records how that ended. Tests only.
contract ReentrantToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    address public rollup;
    /// The claim `attack` sends: a withdrawal to this contract.
    uint64 public firstBatch;
    uint256 public index;
    uint32 public asset;
    uint128 public amount;
    bytes32[] public proof;
    /// Re-entries tried, and those that went through.
    uint256 public reentries;
    uint256 public reentriesPaid;
    /// The revert reason of the last re-entry.
    string public lastReason;

    function mint(address to, uint256 value) external {
        balanceOf[to] += value;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        return true;
    }

    /// Claims the withdrawal to this contract at `index_` of the tree of
    /// `firstBatch_` from `rollup_`, re-entering once.
    function attack(
        address rollup_,
        uint64 firstBatch_,
        uint256 index_,
        uint32 asset_,
        uint128 amount_,
        bytes32[] calldata proof_
    ) external {
        rollup = rollup_;
        firstBatch = firstBatch_;
        index = index_;
        asset = asset_;
        amount = amount_;
        proof = proof_;
        IClaim(rollup_).claim(firstBatch_, index_, address(this), asset_, amount_, proof_);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        if (msg.sender == rollup && reentries == 0) {
            reentries += 1;
            try IClaim(rollup).claim(firstBatch, index, address(this), asset, amount, proof) {
                reentriesPaid += 1;
            } catch Error(string memory reason) {
                lastReason = reason;
            }
        }
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(allowance[from][msg.sender] >= value, "allowance");
        allowance[from][msg.sender] -= value;
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
    }
}
