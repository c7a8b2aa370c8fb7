import Foundation

// The Outposts API shapes outpostwatch reads, named and typed as in botocore's
// `data/outposts/2019-12-03/service-2.json`. Enum-typed members (statuses, carriers, payment
// options) are plain strings: AWS adds values, and an unknown value must be kept verbatim,
// never rejected. Timestamps arrive as epoch seconds; ISO-8601 strings are accepted too.

/// `Order`: the answer of GetOrder.
public struct Order: Codable, Sendable, Hashable {
    public var outpostId: String?
    public var orderId: String?
    public var status: String?
    public var lineItems: [LineItem]?
    public var paymentOption: String?
    public var orderSubmissionDate: Date?
    public var orderFulfilledDate: Date?
    public var paymentTerm: String?
    public var orderType: String?
    /// Added to the API in 2026-06; absent from older answers.
    public var quoteIdentifier: String?
    public var quoteOptionIdentifier: String?

    public init(outpostId: String? = nil, orderId: String? = nil, status: String? = nil, lineItems: [LineItem]? = nil,
                paymentOption: String? = nil, orderSubmissionDate: Date? = nil, orderFulfilledDate: Date? = nil,
                paymentTerm: String? = nil, orderType: String? = nil, quoteIdentifier: String? = nil,
                quoteOptionIdentifier: String? = nil) {
        self.outpostId = outpostId
        self.orderId = orderId
        self.status = status
        self.lineItems = lineItems
        self.paymentOption = paymentOption
        self.orderSubmissionDate = orderSubmissionDate
        self.orderFulfilledDate = orderFulfilledDate
        self.paymentTerm = paymentTerm
        self.orderType = orderType
        self.quoteIdentifier = quoteIdentifier
        self.quoteOptionIdentifier = quoteOptionIdentifier
    }

    enum CodingKeys: String, CodingKey {
        case outpostId = "OutpostId"
        case orderId = "OrderId"
        case status = "Status"
        case lineItems = "LineItems"
        case paymentOption = "PaymentOption"
        case orderSubmissionDate = "OrderSubmissionDate"
        case orderFulfilledDate = "OrderFulfilledDate"
        case paymentTerm = "PaymentTerm"
        case orderType = "OrderType"
        case quoteIdentifier = "QuoteIdentifier"
        case quoteOptionIdentifier = "QuoteOptionIdentifier"
    }
}

/// `LineItem`
public struct LineItem: Codable, Sendable, Hashable {
    public var catalogItemId: String?
    public var lineItemId: String?
    public var quantity: Int?
    public var status: String?
    public var shipmentInformation: ShipmentInformation?
    public var assetInformationList: [LineItemAssetInformation]?
    public var previousLineItemId: String?
    public var previousOrderId: String?

    public init(catalogItemId: String? = nil, lineItemId: String? = nil, quantity: Int? = nil, status: String? = nil,
                shipmentInformation: ShipmentInformation? = nil, assetInformationList: [LineItemAssetInformation]? = nil,
                previousLineItemId: String? = nil, previousOrderId: String? = nil) {
        self.catalogItemId = catalogItemId
        self.lineItemId = lineItemId
        self.quantity = quantity
        self.status = status
        self.shipmentInformation = shipmentInformation
        self.assetInformationList = assetInformationList
        self.previousLineItemId = previousLineItemId
        self.previousOrderId = previousOrderId
    }

    enum CodingKeys: String, CodingKey {
        case catalogItemId = "CatalogItemId"
        case lineItemId = "LineItemId"
        case quantity = "Quantity"
        case status = "Status"
        case shipmentInformation = "ShipmentInformation"
        case assetInformationList = "AssetInformationList"
        case previousLineItemId = "PreviousLineItemId"
        case previousOrderId = "PreviousOrderId"
    }
}

/// `ShipmentInformation`
public struct ShipmentInformation: Codable, Sendable, Hashable {
    public var shipmentTrackingNumber: String?
    /// `ShipmentCarrier` enum (DHL, DBS, FEDEX, UPS, EXPEDITORS, …), verbatim.
    public var shipmentCarrier: String?

    public init(shipmentTrackingNumber: String? = nil, shipmentCarrier: String? = nil) {
        self.shipmentTrackingNumber = shipmentTrackingNumber
        self.shipmentCarrier = shipmentCarrier
    }

    enum CodingKeys: String, CodingKey {
        case shipmentTrackingNumber = "ShipmentTrackingNumber"
        case shipmentCarrier = "ShipmentCarrier"
    }
}

/// `LineItemAssetInformation`
public struct LineItemAssetInformation: Codable, Sendable, Hashable {
    public var assetId: String?
    public var macAddressList: [String]?

    public init(assetId: String? = nil, macAddressList: [String]? = nil) {
        self.assetId = assetId
        self.macAddressList = macAddressList
    }

    enum CodingKeys: String, CodingKey {
        case assetId = "AssetId"
        case macAddressList = "MacAddressList"
    }
}

/// `OrderSummary`: one element of ListOrders' `Orders`.
public struct OrderSummary: Codable, Sendable, Equatable {
    public var outpostId: String?
    public var orderId: String?
    public var orderType: String?
    public var status: String?
    public var lineItemCountsByStatus: [String: Int]?
    public var orderSubmissionDate: Date?
    public var orderFulfilledDate: Date?

    public init(outpostId: String? = nil, orderId: String? = nil, orderType: String? = nil, status: String? = nil,
                lineItemCountsByStatus: [String: Int]? = nil, orderSubmissionDate: Date? = nil,
                orderFulfilledDate: Date? = nil) {
        self.outpostId = outpostId
        self.orderId = orderId
        self.orderType = orderType
        self.status = status
        self.lineItemCountsByStatus = lineItemCountsByStatus
        self.orderSubmissionDate = orderSubmissionDate
        self.orderFulfilledDate = orderFulfilledDate
    }

    enum CodingKeys: String, CodingKey {
        case outpostId = "OutpostId"
        case orderId = "OrderId"
        case orderType = "OrderType"
        case status = "Status"
        case lineItemCountsByStatus = "LineItemCountsByStatus"
        case orderSubmissionDate = "OrderSubmissionDate"
        case orderFulfilledDate = "OrderFulfilledDate"
    }
}

/// One page of ListOrders.
public struct ListOrdersOutput: Codable, Sendable, Equatable {
    public var orders: [OrderSummary]
    public var nextToken: String?

    public init(orders: [OrderSummary], nextToken: String? = nil) {
        self.orders = orders
        self.nextToken = nextToken
    }

    enum CodingKeys: String, CodingKey {
        case orders = "Orders"
        case nextToken = "NextToken"
    }
}
