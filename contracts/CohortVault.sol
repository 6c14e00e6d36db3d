// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {CohortVaultRedemptions} from "./CohortVaultRedemptions.sol";
import {ICohortVault, VaultParams, EpochState} from "./interfaces/ICohortVault.sol";
import {ICohortVaultAdmin} from "./interfaces/ICohortVaultAdmin.sol";
import {IPriceOracle} from "./interfaces/IPriceOracle.sol";
import {Accounting} from "./libraries/Accounting.sol";
import {BPS} from "./libraries/Constants.sol";
import {Modules} from "./libraries/Modules.sol";
import {Redemptions} from "./libraries/Redemptions.sol";
import {Roles} from "./libraries/Roles.sol";
import {SignalLib, TradeSignal} from "./libraries/SignalLib.sol";
import {SignalRules} from "./libraries/SignalRules.sol";
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
/// The investor's side of ERC-7540 (requests, operators, claims) is in CohortVaultRedemptions.
contract CohortVault is CohortVaultRedemptions, EIP712 {
    using Math for uint256;
    using SafeCast for uint256;
    using SafeERC20 for IERC20;
    using Accounting for VaultStorage.Layout;
    using Redemptions for VaultStorage.Layout;
    using Roles for VaultStorage.Layout;
    using SignalRules for VaultStorage.Layout;
    using Swaps for VaultStorage.Layout;
    using VaultConfig for VaultStorage.Layout;

    /// @inheritdoc ICohortVault
    uint256 public constant SETTLE_GRACE = Redemptions.SETTLE_GRACE;

    /// @inheritdoc ICohortVault
    IPriceOracle public immutable oracle;
    /// @inheritdoc ICohortVault
    address public immutable admin;
    /// @inheritdoc ICohortVault
    uint256 public immutable epochStart;
    /// @inheritdoc ICohortVault
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
        Modules.forward(admin);
    }

    /// @dev Accounting.nav bound to the immutable oracle and base asset (the module binds the
    /// stored copies of the same two addresses).
    function _nav(uint8 mode) private view returns (uint256, bool) {
        return VaultStorage.layout().nav(oracle, asset(), mode);
    }

    // ================================================================ roles

    modifier onlyKeeper() {
        VaultStorage.layout().checkKeeper();
        _;
    }

    modifier onlyOwner() {
        VaultStorage.layout().checkOwner();
        _;
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
        (nav,) = _nav(Accounting.TRADE);
        supply = VaultStorage.layout().supplyWithFees(nav, totalSupply());
    }

    /// @inheritdoc ICohortVault
    function pricePerShare() external view returns (uint256) {
        (uint256 nav, uint256 supply) = _previewState();
        return Accounting.pps(nav, supply);
    }

    /// @inheritdoc ICohortVault
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
        $.bookAccrual(hwm, advance);
        emit FeesAccrued(management, performance, nav, supply, Accounting.pps(nav, supply), hwm);
    }

    /// @inheritdoc ICohortVault
    function setFees(uint16 managementFeeBps, uint16 performanceFeeBps) external onlyOwner nonReentrant {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        VaultConfig.checkFees(managementFeeBps, performanceFeeBps);
        bool raising = managementFeeBps > $.fee.managementFeeBps || performanceFeeBps > $.fee.performanceFeeBps;
        if (!Timelock.ready($, raising)) return;
        (uint256 nav,) = _nav(Accounting.TRADE);
        _accrue(nav);
        $.setFees(managementFeeBps, performanceFeeBps);
    }

    /// @inheritdoc ICohortVault
    function setFeeRecipient(address recipient) external onlyOwner nonReentrant {
        VaultStorage.Layout storage $ = VaultStorage.layout();
        (uint256 nav,) = _nav(Accounting.TRADE);
        _accrue(nav);
        $.setFeeRecipient(recipient);
    }

    // ================================================================ settlement

    /// @inheritdoc ICohortVault
    function currentEpoch() public view override returns (uint256) {
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
        $.checkKeeperOrOverdue(true, maturesAt);
        EpochState memory ep = $.epochs[epoch];
        if (ep.escrow != 0) {
            (uint256 nav,) = _nav(Accounting.STRICT);
            uint256 supply = _accrue(nav); // fees are crystallised before the price is fixed
            address base = asset();
            (burned, assets, ep) = $.settleRound(ep, nav, supply, $.assets[base].holdings, epochLength);
            $.epochs[epoch] = ep;
            $.assets[base].holdings -= uint128(assets);
            $.reserved += assets;
            _burn(address(this), burned);
            emit RedemptionsSettled(epoch, burned, assets, nav, supply, ep.escrow, ep.remainingRay, ep.assetsPerUnitRay);
        } else {
            emit RedemptionsSettled(epoch, 0, 0, 0, 0, 0, ep.remainingRay, ep.assetsPerUnitRay);
        }
        if (ep.escrow == 0) $.queue.head = ep.next;
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
        SignalRules.checkSigner($.manager, digest, signature);
        $.useNonce(s.nonce);
        $.checkSignal(s, risk.maxSlippageBps);

        address base = asset();
        // STRICT: a spot price away from its TWAP (the NAV's or the trade's own) refuses the trade
        Accounting.Valuation memory v = $.valuation(oracle, base, Accounting.STRICT, s.tokenIn, s.tokenOut);
        $.checkRiskGate(risk.riskOff, v.nav, totalSupply(), s.tokenOut, base);
        uint256 amountIn = SignalRules.amountIn(s, v);
        (uint256 oracleOut, uint256 valueIn) = SignalRules.oracleReference(v, amountIn, risk.maxTradeBps);
        amountOut =
            _trade(s, amountIn, $.minOut(s.tokenIn, s.tokenOut, s.limitPrice, s.maxSlippageBps, amountIn, oracleOut));
        uint256 loss = SignalRules.lossOf(amountOut, oracleOut, valueIn);
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

    /// @inheritdoc ICohortVault
    function signalDigest(TradeSignal calldata s) external view returns (bytes32) {
        return _hashTypedDataV4(SignalLib.hash(s));
    }
}
