// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

interface IForceWithdraw {
    function forceWithdraw(uint32 account, uint32 asset) external returns (uint64);
}

/// A hostile ERC-20: while the Rollup contract takes it in (its
/// `transferFrom` called during a deposit), it calls `forceWithdraw` once
/// and records how that ended. Tests only.
contract ForcingToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    uint32 public account;
    uint32 public asset;
    /// Forced withdrawals tried, and those that were queued.
    uint256 public tries;
    uint256 public queued;
    /// The revert reason of the last try.
    string public lastReason;

    function mint(address to, uint256 value) external {
        balanceOf[to] += value;
    }

    function approve(address spender, uint256 value) external returns (bool) {
        allowance[msg.sender][spender] = value;
        return true;
    }

    /// The forced withdrawal to try during the next deposit.
    function target(uint32 account_, uint32 asset_) external {
        account = account_;
        asset = asset_;
    }

    function transfer(address to, uint256 value) external returns (bool) {
        _move(msg.sender, to, value);
        return true;
    }

    function transferFrom(address from, address to, uint256 value) external returns (bool) {
        require(allowance[from][msg.sender] >= value, "allowance");
        allowance[from][msg.sender] -= value;
        if (account != 0 && tries == 0) {
            tries += 1;
            try IForceWithdraw(msg.sender).forceWithdraw(account, asset) returns (uint64) {
                queued += 1;
            } catch Error(string memory reason) {
                lastReason = reason;
            }
        }
        _move(from, to, value);
        return true;
    }

    function _move(address from, address to, uint256 value) internal {
        require(balanceOf[from] >= value, "balance");
        balanceOf[from] -= value;
        balanceOf[to] += value;
    }
}
