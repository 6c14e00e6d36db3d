// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {ICohortVault, VaultParams, EpochState} from "./interfaces/ICohortVault.sol";
import {ICohortVaultAdmin} from "./interfaces/ICohortVaultAdmin.sol";
import {IERC7540Operator, IERC7540Redeem, IERC7575} from "./interfaces/IERC7540.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {ISwapAdapter} from "./interfaces/ISwapAdapter.sol";
import {Accounting} from "./libraries/Accounting.sol";
import {BPS, WAD, RAY} from "./libraries/Constants.sol";
import {Redemptions} from "./libraries/Redemptions.sol";
import {SignalLib, TradeSignal} from "./libraries/SignalLib.sol";
import {Swaps} from "./libraries/Swaps.sol";
import {Timelock} from "./libraries/Timelock.sol";
import {VaultConfig} from "./libraries/VaultConfig.sol";
import {VaultStorage} from "./libraries/VaultStorage.sol";

/// @title CohortVault
/// @notice A pooled (PAMM) trading vault. Investors deposit the base asset at NAV (ERC-4626) and
/// leave through notice-period redemptions (ERC-7540, redeem side); the manager trades the pool
/// through EIP-712 signals that keepers relay; fees are minted as shares. Holdings are tracked
/// internally from measured balance changes, so tokens sent to the vault directly change nothing.
/// @dev NAV = base holdings + sum(holdings x TWAP price) (Accounting). Reserved assets (settled,
/// unclaimed redemptions) are not part of NAV. Every share/asset conversion names its rounding,
/// which always favours the vault. Governance, risk operations (unwind, breaker, de-risking)
/// and cold read-outs (ICohortVaultAdmin) are served by a shared CohortVaultAdmin module through
/// the fallback (DELEGATECALL); both keep Cohort's state in the ERC-7201 namespace of VaultStorage.
contract CohortVault is
    ICohortVault,
    IERC7540Redeem,
    IERC7540Operator,
    IERC7575,
    IERC165,
    ERC4626,
    EIP712,
    ReentrancyGuardTransient
{
    using Math for uint256;
    using SafeCast for uint256;
    using SafeERC20 for IERC20;
    using Accounting for VaultStorage.Layout;
    using Redemptions for VaultStorage.Layout;
    using Swaps for VaultStorage.Layout;
    using VaultConfig for VaultStorage.Layout;

    bytes4 internal constant ERC7575_INTERFACE_ID = 0x2f0a18c5;
    /// @notice After an epoch has been matured this long, anyone may settle it.
    uint256 public constant SETTLE_GRACE = Redemptions.SETTLE_GRACE;

    /// @notice The price oracle (Uniswap V3 TWAPs behind IPriceOracle).
    IPriceOracle public immutable oracle;
    /// @notice The governance and risk module the fallback delegates to.
    address public immutable admin;
    uint256 public immutable epochStart;
    uint256 public immutable epochLength;

    // ================================================================ construction

    /// @param p Every parameter (VaultFactory emits them in VaultCreated).
    /// @param admin_ The CohortVaultAdmin module; it validates and stores `p`.
    constructor(VaultParams memory p, address admin_)
        ERC20(p.name, p.symbol)
        ERC4626(IERC20(p.asset))
        EIP712(p.name, "1")
    {
        if (p.asset == address(0) || p.oracle == address(0) || admin_ == address(0)) revert CohortZeroAddress();
        if (p.epochLength < 1 hours || p.epochLength > 30 days) revert CohortInvalidParameter("epochLength", p.epochLength);
        oracle = IPriceOracle(p.oracle);
        admin = admin_;
        epochStart = block.timestamp;
        epochLength = p.epochLength;
        // The module is chosen by the factory (its immutable admin) and the selector is fixed.
        // slither-disable-next-line controlled-delegatecall
        (bool ok, bytes memory reason) = admin_.delegatecall(abi.encodeCall(ICohortVaultAdmin.initialize, (p)));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(reason, 32), mload(reason))
            }
        }
    }

    /// @notice Everything in ICohortVaultAdmin is served by the admin module in this vault's context.
    fallback() external {
        address module = admin;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), module, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @dev NAV through the immutable oracle and base asset.
    function _nav(uint8 mode) private view returns (uint256, bool) {
        return VaultStorage.layout().nav(oracle, asset(), mode);
    }

    // ================================================================ roles

    modifier onlyKeeper() {
        if (!VaultStorage.layout().keepers[msg.sender]) revert CohortNotKeeper(msg.sender);
        _;
    }

    modifier onlyOwner() {
        if (msg.sender != VaultStorage.layout().owner) revert ICohortVaultAdmin.CohortNotOwner(msg.sender);
        _;
    }

    function _onlyControllerOrOperator(address controller) private view {
        if (msg.sender != controller && !VaultStorage.layout().operators[controller][msg.sender]) {
            revert CohortNotControllerOrOperator(msg.sender, controller);
        }
    }

    // ================================================================ ERC-4626: views

    /// @notice NAV: base holdings plus every listed asset's holdings at its TWAP price. Reverts with
    /// the oracle's named error when a held asset cannot be priced, rather than answer a NAV that
    /// leaves it out; `valuation()` answers anyway, with a health flag. max* never revert.
    function totalAssets() public view override returns (uint256 nav) {
        (nav,) = _nav(Accounting.TRADE);
    }

    /// @notice Zero while paused, while the oracle is unhealthy (deposits would revert), or when
    /// the cap leaves less room than the minimum deposit.
    function maxDeposit(address) public view override returns (uint256) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        if ($.risk.paused) return 0;
        (uint256 nav, bool healthy) = _nav(Accounting.VIEW);
        VaultStorage.Limits memory lim = $.limits;
        if (!healthy || nav >= lim.depositCap) return 0;
        uint256 room = lim.depositCap - nav;
        return room < lim.minDeposit ? 0 : room;
    }

    function maxMint(address receiver) public view override returns (uint256) {
        uint256 assets = maxDeposit(receiver);
        return assets == 0 ? 0 : _convertToShares(assets, Math.Rounding.Floor);
    }

    /// @notice Claimable assets of `controller` (ERC-7540: withdraw is a claim).
    function maxWithdraw(address controller) public view override returns (uint256 assets) {
        (, assets) = VaultStorage.layout().claimableOf(controller);
    }

    /// @notice Claimable shares of `controller` (ERC-7540: redeem is a claim).
    function maxRedeem(address controller) public view override returns (uint256 shares) {
        (shares,) = VaultStorage.layout().claimableOf(controller);
    }

    /// @notice Always reverts: redemptions are asynchronous (ERC-7540).
    function previewWithdraw(uint256) public pure override returns (uint256) {
        revert CohortAsyncRedemption();
    }

    /// @notice Always reverts: redemptions are asynchronous (ERC-7540).
    function previewRedeem(uint256) public pure override returns (uint256) {
        revert CohortAsyncRedemption();
    }

    /// @dev Conversions and previews include the fee shares an accrual now would mint.
    function _convertToShares(uint256 assets, Math.Rounding rounding) internal view override returns (uint256) {
        (uint256 nav, uint256 supply) = _previewState();
        return Accounting.toShares(assets, nav, supply, rounding);
    }

    function _convertToAssets(uint256 shares, Math.Rounding rounding) internal view override returns (uint256) {
        (uint256 nav, uint256 supply) = _previewState();
        return Accounting.toAssets(shares, nav, supply, rounding);
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return Accounting.DECIMALS_OFFSET;
    }

    /// @dev NAV (reverting when an asset cannot be priced) and the supply after the fee shares an
    /// accrual now would mint.
    function _previewState() private view returns (uint256 nav, uint256 supply) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        (nav,) = _nav(Accounting.TRADE);
        supply = totalSupply();
        (uint256 management, uint256 performance,,) = $.computeFees(nav, supply);
        supply += management + performance;
    }

    /// @notice Price per share now, net of the fees an accrual would mint (1e18 = one asset per share).
    function pricePerShare() external view returns (uint256) {
        (uint256 nav, uint256 supply) = _previewState();
        return Accounting.pps(nav, supply);
    }

    /// @notice NAV and whether every oracle answered within the deviation bound.
    function valuation() external view returns (uint256 nav, bool healthy) {
        return _nav(Accounting.VIEW);
    }

    // ================================================================ ERC-4626: deposits

    /// @notice Deposits `assets` at NAV after accruing fees; mints at least previewDeposit(assets).
    function deposit(uint256 assets, address receiver) public override nonReentrant returns (uint256 shares) {
        (uint256 nav, uint256 supply) = _openDeposit();
        shares = Accounting.toShares(assets, nav, supply, Math.Rounding.Floor);
        _completeDeposit(receiver, assets, shares, nav, supply);
    }

    /// @notice Mints exactly `shares` at NAV after accruing fees; costs at most previewMint(shares).
    function mint(uint256 shares, address receiver) public override nonReentrant returns (uint256 assets) {
        (uint256 nav, uint256 supply) = _openDeposit();
        assets = Accounting.toAssets(shares, nav, supply, Math.Rounding.Ceil);
        _completeDeposit(receiver, assets, shares, nav, supply);
    }

    function _openDeposit() private returns (uint256 nav, uint256 supply) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        if ($.risk.paused) revert CohortPaused();
        (nav,) = _nav(Accounting.STRICT);
        supply = _accrue(nav);
    }

    function _completeDeposit(address receiver, uint256 assets, uint256 shares, uint256 nav, uint256 supply) private {
        if (assets == 0) revert CohortZeroAmount();
        if (shares == 0) revert CohortZeroShares();
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultStorage.Limits memory lim = $.limits;
        if (assets < lim.minDeposit) revert CohortDepositTooSmall(assets, lim.minDeposit);
        if (nav + assets > lim.depositCap) {
            revert ERC4626ExceededMaxDeposit(receiver, assets, lim.depositCap > nav ? lim.depositCap - nav : 0);
        }
        address base = asset();
        uint256 before = IERC20(base).balanceOf(address(this));
        IERC20(base).safeTransferFrom(msg.sender, address(this), assets);
        uint256 received = IERC20(base).balanceOf(address(this)) - before;
        if (received != assets) revert CohortTransferMismatch(base, assets, received);
        $.assets[base].holdings += assets.toUint128();
        _mint(receiver, shares);
        // First shares of an empty vault: the high-water mark starts at the entry price.
        if (supply == 0) {
            uint128 entry = Accounting.pps(nav + assets, shares).toUint128();
            $.marks = VaultStorage.Marks(entry, entry);
        }
        emit Deposit(msg.sender, receiver, assets, shares);
    }

    // ================================================================ fees

    /// @inheritdoc ICohortVault
    function accrueFees() external nonReentrant {
        (uint256 nav,) = _nav(Accounting.TRADE);
        _accrue(nav);
    }

    /// @inheritdoc ICohortVault
    function pendingFeeShares() external view returns (uint256 managementShares, uint256 performanceShares) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        (uint256 nav,) = _nav(Accounting.TRADE);
        (managementShares, performanceShares,,) = $.computeFees(nav, totalSupply());
    }

    /// @dev Mints the fees due at `nav` and returns the supply after the mint.
    function _accrue(uint256 nav) private returns (uint256 supply) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        supply = totalSupply();
        (uint256 management, uint256 performance, uint256 hwm, bool advance) = $.computeFees(nav, supply);
        uint256 minted = management + performance;
        if (minted != 0) {
            _mint($.fee.recipient, minted);
            supply += minted;
        }
        if (advance) $.fee.lastAccrual = uint64(block.timestamp);
        VaultStorage.Marks memory m = $.marks;
        if (hwm != m.highWaterMark) {
            // The breaker's reference follows every new high-water mark.
            uint128 h = hwm.toUint128();
            $.marks = VaultStorage.Marks(h, h > m.drawdownReference ? h : m.drawdownReference);
        }
        emit FeesAccrued(management, performance, nav, supply, Accounting.pps(nav, supply), hwm);
    }

    /// @notice Sets the fee rates (owner). Fees accrue first; a rise waits behind the timelock.
    function setFees(uint16 managementFeeBps, uint16 performanceFeeBps) external onlyOwner nonReentrant {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultConfig.checkFees(managementFeeBps, performanceFeeBps);
        bool raising = managementFeeBps > $.fee.managementFeeBps || performanceFeeBps > $.fee.performanceFeeBps;
        if (!Timelock.ready($, raising)) return;
        (uint256 nav,) = _nav(Accounting.TRADE);
        _accrue(nav);
        $.setFees(managementFeeBps, performanceFeeBps);
    }

    /// @notice Sets the fee recipient (owner); fees due so far go to the previous one.
    function setFeeRecipient(address recipient) external onlyOwner nonReentrant {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        (uint256 nav,) = _nav(Accounting.TRADE);
        _accrue(nav);
        $.setFeeRecipient(recipient);
    }

    // ================================================================ ERC-7540: requests

    /// @inheritdoc IERC7540Redeem
    /// @dev Requests join the open epoch; all requests of a controller are aggregated
    /// (requestId 0). A controller with an unsettled request in an older epoch must wait for it
    /// or cancel it first, so nobody can move another investor's place in the queue. A controller
    /// other than `owner_` must be the sender or have made the sender its operator.
    function requestRedeem(uint256 shares, address controller, address owner_)
        external
        nonReentrant
        returns (uint256 requestId)
    {
        if (shares == 0) revert CohortZeroShares();
        if (controller == address(0)) revert CohortZeroAddress();
        VaultStorage.Layout storage $ = VaultStorage.layout();
        // naming another controller needs its consent (the sender is it or its operator): a request
        // forced on someone would block their own until they cancel it
        if (controller != owner_ && msg.sender != controller && !$.operators[controller][msg.sender]) {
            revert CohortNotControllerOrOperator(msg.sender, controller);
        }
        if (msg.sender != owner_ && !$.operators[owner_][msg.sender]) _spendAllowance(owner_, msg.sender, shares);
        uint256 epoch = currentEpoch();
        VaultStorage.Request memory req = $.checkpoint(controller);
        if (req.units != 0 && req.epoch != epoch) revert CohortRequestPending(controller, req.epoch);
        _transfer(owner_, address(this), shares); // escrow: the shares stay in supply
        EpochState storage ep = $.epochs[epoch];
        if (ep.remainingRay == 0) {
            // first request of the (open, never settled) epoch: link it into the queue
            ep.remainingRay = uint128(RAY);
            VaultStorage.Queue memory q = $.queue;
            if (q.tail != 0) $.epochs[q.tail].next = uint64(epoch);
            if (q.head == 0) q.head = uint64(epoch);
            q.tail = uint64(epoch);
            $.queue = q;
        }
        ep.units += shares.toUint128();
        ep.escrow += shares.toUint128();
        $.requests[controller] = VaultStorage.Request(uint64(epoch), req.units + shares.toUint128(), 0, 0);
        emit RedeemRequest(controller, owner_, 0, msg.sender, shares);
        emit RedeemRequestQueued(controller, epoch, shares);
        return 0;
    }

    /// @inheritdoc ICohortVault
    function cancelRedeemRequest(address controller) external nonReentrant returns (uint256 shares) {
        _onlyControllerOrOperator(controller);
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultStorage.Request memory req = $.checkpoint(controller);
        shares = req.units - req.creditedShares; // the unsettled part
        if (req.units == 0 || shares == 0) revert CohortNothingToCancel(controller);
        EpochState storage ep = $.epochs[req.epoch];
        ep.units -= req.units;
        uint128 escrow = ep.escrow - uint128(shares);
        if (ep.units == 0) {
            shares += escrow; // rounding dust of an emptied epoch goes to its last member
            escrow = 0;
        }
        ep.escrow = escrow;
        delete $.requests[controller];
        _transfer(address(this), controller, shares);
        emit RedeemRequestCanceled(controller, req.epoch, shares);
    }

    /// @inheritdoc IERC7540Redeem
    function pendingRedeemRequest(uint256, address controller) external view returns (uint256) {
        return VaultStorage.layout().pendingOf(controller);
    }

    /// @inheritdoc IERC7540Redeem
    function claimableRedeemRequest(uint256, address controller) external view returns (uint256 claimableShares) {
        (claimableShares,) = VaultStorage.layout().claimableOf(controller);
    }

    /// @inheritdoc IERC7540Operator
    function setOperator(address operator, bool approved) external returns (bool) {
        VaultStorage.layout().operators[msg.sender][operator] = approved;
        emit OperatorSet(msg.sender, operator, approved);
        return true;
    }

    /// @inheritdoc IERC7540Operator
    function isOperator(address controller, address operator) external view returns (bool) {
        return VaultStorage.layout().operators[controller][operator];
    }

    /// @inheritdoc IERC7575
    function share() external view returns (address) {
        return address(this);
    }

    /// @dev ERC-7575's id covers every ERC-4626 function plus share(), hence a constant.
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC7540Redeem).interfaceId
            || interfaceId == type(IERC7540Operator).interfaceId || interfaceId == ERC7575_INTERFACE_ID;
    }

    // ================================================================ ERC-7540: claims

    /// @notice Claims `shares` of `controller`'s settled redemptions for their assets. Works while paused.
    function redeem(uint256 shares, address receiver, address controller)
        public
        override
        nonReentrant
        returns (uint256 assets)
    {
        VaultStorage.Claimable memory c = _openClaim(controller);
        if (shares == 0) revert CohortZeroShares();
        if (shares > c.shares) revert CohortExceedsClaimable(controller, shares, c.shares);
        assets = shares == c.shares ? c.assets : uint256(c.assets).mulDiv(shares, c.shares, Math.Rounding.Floor);
        _payClaim(controller, receiver, shares, assets, c);
    }

    /// @notice Claims `assets` of `controller`'s settled redemptions. Works while paused.
    function withdraw(uint256 assets, address receiver, address controller)
        public
        override
        nonReentrant
        returns (uint256 shares)
    {
        VaultStorage.Claimable memory c = _openClaim(controller);
        if (assets == 0) revert CohortZeroAmount();
        if (assets > c.assets) revert CohortExceedsClaimable(controller, assets, c.assets);
        shares = assets == c.assets ? c.shares : uint256(c.shares).mulDiv(assets, c.assets, Math.Rounding.Ceil);
        _payClaim(controller, receiver, shares, assets, c);
    }

    function _openClaim(address controller) private returns (VaultStorage.Claimable memory) {
        _onlyControllerOrOperator(controller);
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.checkpoint(controller);
        return $.claimable[controller];
    }

    function _payClaim(
        address controller,
        address receiver,
        uint256 shares,
        uint256 assets,
        VaultStorage.Claimable memory c
    ) private {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        $.claimable[controller] = VaultStorage.Claimable(c.shares - uint128(shares), c.assets - uint128(assets));
        $.reserved -= assets;
        IERC20(asset()).safeTransfer(receiver, assets);
        emit Withdraw(msg.sender, receiver, controller, assets, shares);
    }

    // ================================================================ settlement

    /// @inheritdoc ICohortVault
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - epochStart) / epochLength + 1;
    }

    /// @inheritdoc ICohortVault
    function epochMaturesAt(uint256 epoch) public view returns (uint256) {
        return epochStart + epoch * epochLength + VaultStorage.layout().queue.noticePeriod;
    }

    /// @inheritdoc ICohortVault
    function settleRedemptions() external nonReentrant returns (uint256 burned, uint256 assets) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        uint256 epoch = $.queue.head;
        if (epoch == 0) revert CohortNothingToSettle();
        uint256 maturesAt = epochMaturesAt(epoch);
        if (block.timestamp < maturesAt) revert CohortEpochNotMatured(epoch, maturesAt);
        if (!$.keepers[msg.sender] && block.timestamp < maturesAt + SETTLE_GRACE) revert CohortNotKeeper(msg.sender);
        EpochState memory ep = $.epochs[epoch];
        if (ep.escrow != 0) {
            (uint256 nav,) = _nav(Accounting.STRICT);
            uint256 supply = _accrue(nav); // fees are crystallised before the price is fixed
            (burned, assets, ep) = _settleRound(ep, nav, supply);
            $.epochs[epoch] = ep;
            $.assets[asset()].holdings -= uint128(assets);
            $.reserved += assets;
            _burn(address(this), burned);
            emit RedemptionsSettled(epoch, burned, assets, nav, supply, ep.escrow, ep.remainingRay, ep.assetsPerUnitRay);
        } else {
            emit RedemptionsSettled(epoch, 0, 0, 0, 0, 0, ep.remainingRay, ep.assetsPerUnitRay);
        }
        if (ep.escrow == 0) $.queue.head = ep.next;
    }

    /// @dev One pro-rata round: pays the whole epoch if the gate and the free base asset allow,
    /// else the same fraction of every request in it. Gas is independent of the number of requests.
    /// The gate does not apply when the epoch holds every share (otherwise a fractional gate
    /// would never finish paying a vault that everyone leaves).
    function _settleRound(EpochState memory ep, uint256 nav, uint256 supply)
        private
        returns (uint256 burned, uint256 assets, EpochState memory)
    {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        uint256 value = Accounting.toAssets(ep.escrow, nav, supply, Math.Rounding.Floor);
        // the gate protects those who stay: when every share is redeeming, nobody stays
        bool gated = ep.escrow != supply;
        uint256 budget = gated ? _gateBudget(nav) : value;
        uint256 baseFree = $.assets[asset()].holdings;
        uint256 pay = Math.min(Math.min(value, budget), baseFree);
        // the gate window is spent, or the keeper has not raised the base asset yet; an escrow worth
        // nothing (dust) settles whole for nothing, so it can never hold up the epochs behind it
        if (pay == 0 && value != 0) revert CohortNoSettlementCapacity(budget, baseFree);
        if (pay == value) {
            (burned, assets) = (ep.escrow, value);
            ep.remainingRay = 0;
        } else {
            // shares worth at most `pay`; the fraction left to each request shrinks accordingly,
            // and escrow keeps ceil(units * r) so every request's remainder stays covered.
            uint256 target = Accounting.toShares(pay, nav, supply, Math.Rounding.Floor);
            ep.remainingRay = uint256(ep.remainingRay).mulDiv(ep.escrow - target, ep.escrow).toUint128();
            burned = ep.escrow - uint256(ep.units).mulDiv(ep.remainingRay, RAY, Math.Rounding.Ceil);
            assets = Math.min(Accounting.toAssets(burned, nav, supply, Math.Rounding.Floor), pay);
            if (burned == 0) revert CohortNothingToSettle();
        }
        ep.escrow -= uint128(burned);
        ep.assetsPerUnitRay += assets.mulDiv(RAY, ep.units, Math.Rounding.Floor);
        // a round the gate limited uses the window up (rounding must not leave wei-sized rounds)
        if (gated) $.gate.remaining = pay == budget ? 0 : uint128(budget - assets);
        return (burned, assets, ep);
    }

    /// @dev What the current gate window (one epoch length) may still pay; opens a new window
    /// worth gateBps of NAV when the last one has run out of time.
    function _gateBudget(uint256 nav) private returns (uint256) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultStorage.Gate memory g = $.gate;
        if (block.timestamp >= g.windowStart + epochLength) {
            g = VaultStorage.Gate(uint64(block.timestamp), Accounting.gateAllowance(nav, $.queue.gateBps).toUint128());
            $.gate = g;
        }
        return g.remaining;
    }

    // ================================================================ signals

    /// @inheritdoc ICohortVault
    /// @dev The loss budget is charged after the swap because the loss is measured from it; the
    /// function is nonReentrant (Slither cannot read OpenZeppelin's transient-storage guard).
    // slither-disable-next-line reentrancy-no-eth
    function executeSignal(TradeSignal calldata s, bytes calldata signature)
        external
        nonReentrant
        onlyKeeper
        returns (uint256 amountOut)
    {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultStorage.RiskSlot memory risk = $.risk;
        if (risk.paused) revert CohortPaused();
        if (block.timestamp > s.deadline) revert CohortSignalExpired(s.deadline);
        bytes32 digest = _hashTypedDataV4(SignalLib.hash(s));
        _checkSigner($.manager, digest, signature);
        _useNonce(s.nonce);
        _checkSignal(s, risk.maxSlippageBps);

        address base = asset();
        // STRICT: a spot price away from its TWAP (the NAV's or the trade's own) refuses the trade
        Accounting.Valuation memory v = $.valuation(oracle, base, Accounting.STRICT, s.tokenIn, s.tokenOut);
        uint256 supply = totalSupply();
        if (risk.riskOff || $.breached(v.nav, supply)) {
            // risk-off: only trades into the base asset pass
            if (s.tokenOut != base) revert CohortRiskOff(s.tokenOut);
            if (!risk.riskOff) $.enterRiskOff(v.nav, supply);
        }
        uint256 amountIn = _signalAmountIn(s, v);
        // oracle prices are linear in the amount: scale the quote of the whole holding, at the
        // better for the vault of TWAP and spot
        uint256 oracleOut = Accounting.betterOut(v.heldInQuote, v.quoteDeviation).mulDiv(amountIn, v.heldIn);
        uint256 valueIn = v.heldInValue.mulDiv(amountIn, v.heldIn, Math.Rounding.Ceil);
        uint256 maxValue = v.nav.mulDiv(risk.maxTradeBps, BPS);
        if (valueIn > maxValue) revert CohortTradeTooLarge(valueIn, maxValue);

        amountOut = _trade(s, amountIn, _minOut(s, amountIn, oracleOut));
        uint256 loss =
            amountOut >= oracleOut ? 0 : (oracleOut - amountOut).mulDiv(valueIn, oracleOut, Math.Rounding.Ceil);
        $.chargeLoss(loss, v.nav);
        emit TradeExecuted(
            digest, s.nonce, msg.sender, s.tokenIn, s.tokenOut, amountIn, amountOut, oracleOut, s.limitPrice, loss
        );
    }

    function _trade(TradeSignal calldata s, uint256 amountIn, uint256 minOut) private returns (uint256) {
        return VaultStorage.layout().swap(
            Swaps.Trade(s.tokenIn, s.tokenOut, amountIn, minOut, s.adapter, s.path, s.deadline)
        );
    }

    /// @dev The stricter of the signed limit price and the oracle's price less the signed slippage.
    function _minOut(TradeSignal calldata s, uint256 amountIn, uint256 oracleOut) private view returns (uint256 minOut) {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        uint256 limitOut = amountIn.mulDiv(
            s.limitPrice * 10 ** $.assets[s.tokenOut].decimals,
            WAD * 10 ** $.assets[s.tokenIn].decimals,
            Math.Rounding.Ceil
        );
        minOut = Math.max(limitOut, oracleOut.mulDiv(BPS - s.maxSlippageBps, BPS, Math.Rounding.Ceil));
        if (minOut == 0) revert CohortZeroMinimum();
    }

    /// @dev ECDSA first (no malleable signatures); ERC-1271 when the manager is a contract.
    function _checkSigner(address signer, bytes32 digest, bytes calldata signature) private view {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return;
        if (signer.code.length == 0 || !SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature))
        {
            revert CohortInvalidSignature();
        }
    }

    function _checkSignal(TradeSignal calldata s, uint16 maxSlippageBps) private view {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        if (s.tokenIn == s.tokenOut) revert CohortSameToken(s.tokenIn);
        if (!$.assets[s.tokenIn].listed) revert CohortAssetNotListed(s.tokenIn);
        if (!$.assets[s.tokenOut].listed) revert CohortAssetNotListed(s.tokenOut);
        if (!$.adapters[s.adapter]) revert CohortAdapterNotAllowed(s.adapter);
        // every token a route passes through is one the vault lists: no detour through pools the
        // manager controls
        address[] memory hops = ISwapAdapter(s.adapter).validatePath(s.tokenIn, s.tokenOut, s.path);
        for (uint256 i; i < hops.length; ++i) {
            if (!$.assets[hops[i]].listed) revert CohortRouteTokenNotListed(hops[i]);
        }
        if (s.sizeMode > SignalLib.SIZE_OF_NAV || s.sizeBps == 0 || s.sizeBps > BPS) {
            revert CohortInvalidSize(s.sizeMode, s.sizeBps);
        }
        if (s.limitPrice == 0) revert CohortZeroLimitPrice();
        if (s.maxSlippageBps == 0 || s.maxSlippageBps > maxSlippageBps) {
            revert CohortSlippageOutOfRange(s.maxSlippageBps, maxSlippageBps);
        }
    }

    /// @dev The signal's size applied to this vault, capped at what it holds of tokenIn.
    function _signalAmountIn(TradeSignal calldata s, Accounting.Valuation memory v)
        private
        pure
        returns (uint256 amountIn)
    {
        if (s.sizeMode == SignalLib.SIZE_OF_HOLDINGS) {
            amountIn = v.heldIn.mulDiv(s.sizeBps, BPS);
        } else if (v.heldInValue != 0) {
            // a fraction of NAV, in tokenIn at the oracle price of the holding
            amountIn = v.nav.mulDiv(s.sizeBps, BPS).mulDiv(v.heldIn, v.heldInValue);
            if (amountIn > v.heldIn) amountIn = v.heldIn;
        }
        if (amountIn == 0) revert CohortZeroAmount();
    }

    function _useNonce(uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 flipped = VaultStorage.layout().nonceBitmap[nonce >> 8] ^= bit;
        if (flipped & bit == 0) revert CohortNonceUsed(nonce);
    }

    /// @inheritdoc ICohortVault
    function signalDigest(TradeSignal calldata s) external view returns (bytes32) {
        return _hashTypedDataV4(SignalLib.hash(s));
    }
}
