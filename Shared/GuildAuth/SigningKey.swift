import Foundation
import JWTKit

/// The private key auth signs access tokens with, and the JWKS that publishes its public half.
public struct SigningKey: Sendable {
    /// The Ed25519 private key.
    public let privateKey: EdDSA.PrivateKey
    /// The key id written into every token header.
    public let kid: String

    /// Loads a PEM private key; the kid is derived from the public key, so it changes only with the key.
    public init(pem: String) throws {
        let key = try EdDSA.PrivateKey(pem: pem)
        self.init(privateKey: key)
    }

    /// Wraps a key.
    public init(privateKey: EdDSA.PrivateKey) {
        self.privateKey = privateKey
        self.kid = "ed-" + String(privateKey.publicKey.rawRepresentation.base64URLEncodedString().prefix(16))
    }

    /// A fresh random key (development and tests).
    public static func generate() throws -> SigningKey {
        SigningKey(privateKey: try EdDSA.PrivateKey(curve: .ed25519))
    }

    /// The JWKS document with the public key.
    public var jwks: JWKSDocument {
        JWKSDocument(keys: [
            .init(kty: "OKP", crv: "Ed25519", x: privateKey.publicKey.rawRepresentation.base64URLEncodedString(), kid: kid, alg: "EdDSA", use: "sig")
        ])
    }
}

/// A JWKS document (RFC 7517) of Ed25519 public keys.
public struct JWKSDocument: Codable, Sendable, Equatable {
    /// One public key.
    public struct Key: Codable, Sendable, Equatable {
        /// Key type, `OKP`.
        public var kty: String
        /// Curve, `Ed25519`.
        public var crv: String
        /// The public key, base64url.
        public var x: String
        /// Key id.
        public var kid: String
        /// Algorithm, `EdDSA`.
        public var alg: String
        /// Use, `sig`.
        public var use: String
    }

    /// The keys.
    public var keys: [Key]
}
