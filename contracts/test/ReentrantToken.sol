// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

interface IClaim {
    function claim(uint32 asset) external returns (uint256);
}

/// A hostile ERC-20: while the Rollup contract pays it out (its `transfer`
/// called by the rollup during `attack`'s claim), it calls `claim` again
/// and records how that ended. Tests only.
contract ReentrantToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    address public rollup;
    uint32 public asset;
    /// Re-entries tried, and those that paid anything.
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

    /// Claims this contract's withdrawals of `asset_` from `rollup_`, re-entering once.
    function attack(address rollup_, uint32 asset_) external returns (uint256) {
        rollup = rollup_;
        asset = asset_;
        return IClaim(rollup_).claim(asset_);
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        if (msg.sender == rollup && reentries == 0) {
            reentries += 1;
            try IClaim(rollup).claim(asset) returns (uint256 paid) {
                if (paid > 0) reentriesPaid += 1;
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
