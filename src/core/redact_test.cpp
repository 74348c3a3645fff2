#include "esper/core/redact.h"

#include <gtest/gtest.h>

#include "esper/core/secret.h"

namespace esper {
namespace {

TEST(IsSecretKey, NamesThatHoldCredentialsInEverySpelling) {
  for (const char* k :
       {"password", "PASSWORD", "database.password", "db_password", "dbPassword", "passwd", "passphrase",
        "secret", "client_secret", "clientSecret", "s3.secret_access_key", "AWS_SECRET_ACCESS_KEY",
        "token", "session_token", "sessionToken", "access_token", "accessToken", "X-Auth-Token",
        "x-amz-security-token", "refreshtoken", "signature", "X-Amz-Signature", "credential",
        "X-Amz-Credential", "credentials", "authorization", "Proxy-Authorization", "cookie", "Set-Cookie",
        "api_key", "api-key", "apiKey", "ApiKey", "apikey", "APIKEY", "API_KEY", "x-api-key", "X-API-KEY",
        "private_key", "private-key", "privateKey", "privatekey", "PRIVATE_KEY", "signing_key", "signingKey",
        "encryption_key", "training.wandb_api_key", "password2", "secrets"}) {
    EXPECT_TRUE(IsSecretKey(k)) << k;
  }
}

TEST(IsSecretKey, WordsNotSubstrings) {
  for (const char* k : {"tokenizer_path", "tokenizerPath", "max_tokens", "num_tokens", "keyboard", "key",
                        "passthrough", "access_key_id", "s3.access_key_id", "AWS_ACCESS_KEY_ID", "monkey",
                        "keyspace", "api_url", "private", "secretary", "cookiecutter", "authority",
                        "sig_figs", "host", "port", "", "___", "k3y"}) {
    EXPECT_FALSE(IsSecretKey(k)) << k;
  }
}

TEST(IsSecretHeader, CredentialHeadersAndTheSseCKeys) {
  for (const char* h : {"Authorization", "authorization", "Proxy-Authorization", "Cookie", "Set-Cookie",
                        "X-Amz-Security-Token", "X-Api-Key", "X-Auth-Token", "X-Amz-Server-Side-Encryption-Customer-Key",
                        "x-amz-copy-source-server-side-encryption-customer-key"}) {
    EXPECT_TRUE(IsSecretHeader(h)) << h;
  }
  for (const char* h : {"Content-Type", "X-Amz-Date", "X-Amz-Content-Sha256", "WWW-Authenticate", "Host",
                        "X-Amz-Server-Side-Encryption", "Retry-After"}) {
    EXPECT_FALSE(IsSecretHeader(h)) << h;
  }
  EXPECT_EQ(RedactHeaderValue("Authorization", "Bearer abc"), kRedacted);
  EXPECT_EQ(RedactHeaderValue("Accept", "*/*"), "*/*");
  EXPECT_EQ(kRedacted, Secret::kRedacted);
}

TEST(IsSecretQueryParam, SignaturesTokensPasswordsAndEncodedNames) {
  for (const char* p : {"X-Amz-Signature", "x-amz-signature", "X-Amz-Credential", "X-Amz-Security-Token",
                        "Signature", "token", "access_token", "password", "sig", "SIG", "api_key", "apiKey",
                        "X%2DAmz%2DSignature", "pass%77ord"}) {
    EXPECT_TRUE(IsSecretQueryParam(p)) << p;
  }
  for (const char* p : {"X-Amz-Algorithm", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders", "prefix",
                        "max-keys", "list-type", "signal", "%zz", "%", "page"}) {
    EXPECT_FALSE(IsSecretQueryParam(p)) << p;
  }
}

TEST(RedactQuery, HidesSecretValuesOnly) {
  EXPECT_EQ(RedactQuery("a=1&token=t0k&b=2"), "a=1&token=***&b=2");
  EXPECT_EQ(RedactQuery("token"), "token");  // no value
  EXPECT_EQ(RedactQuery("sig=abc HTTP/1.1"), "sig=*** HTTP/1.1");
  EXPECT_EQ(RedactQuery("password=&x=1#frag"), "password=***&x=1#frag");
  EXPECT_EQ(RedactQuery(""), "");
}

TEST(RedactUrl, HidesUserInfoAndSecretParameters) {
  EXPECT_EQ(RedactUrl("http://user:hunter2@h/x"), "http://user:***@h/x");
  EXPECT_EQ(RedactUrl("https://ghp_token@github.com/x"), "https://***@github.com/x");  // a lone name may be a token
  EXPECT_EQ(RedactUrl("redis://:pw@cache:6379/0"), "redis://:***@cache:6379/0");
  EXPECT_EQ(RedactUrl("redis://pw@cache"), "redis://***@cache");
  EXPECT_EQ(RedactUrl("redis://cache:6379/0?password=pw&db=1"), "redis://cache:6379/0?password=***&db=1");
  EXPECT_EQ(RedactUrl("https://b.s3/k?X-Amz-Algorithm=AWS4&X-Amz-Signature=abcdef&X-Amz-Credential=AKIA%2F1"),
            "https://b.s3/k?X-Amz-Algorithm=AWS4&X-Amz-Signature=***&X-Amz-Credential=***");
  EXPECT_EQ(RedactUrl("http://h/x?access_token=t0k&page=2#f"), "http://h/x?access_token=***&page=2#f");
  EXPECT_EQ(RedactUrl("http://h/x?a=1"), "http://h/x?a=1");
  EXPECT_EQ(RedactUrl("http://h/x#frag?token=abc"), "http://h/x#frag?token=abc");  // a fragment, not a query
  EXPECT_EQ(RedactUrl("GET /k?x-amz-signature=zz HTTP/1.1"), "GET /k?x-amz-signature=*** HTTP/1.1");
  EXPECT_EQ(RedactUrl("http://h/a@b"), "http://h/a@b");  // '@' in the path is not user-info
  EXPECT_EQ(RedactUrl("http://h:8080/plain/path#f"), "http://h:8080/plain/path#f");
  EXPECT_EQ(RedactUrl("http://u:p@ss@h/"), "http://u:***@h/");  // the last '@' ends the user-info
  // curl takes one to three slashes after the scheme.
  EXPECT_EQ(RedactUrl("http:/u:pw@h/x"), "http:/u:***@h/x");
  EXPECT_EQ(RedactUrl("http:///u:pw@h/x"), "http:///u:***@h/x");
  EXPECT_EQ(RedactUrl("http:u:pw@h/x"), "http:***@h/x");  // no slash: all of it hidden
  EXPECT_EQ(RedactUrl("user:pw@h/x"), "user:***@h/x");    // not a URL at all
  EXPECT_EQ(RedactUrl("not a url"), "not a url");
  EXPECT_EQ(RedactUrl(""), "");
  EXPECT_TRUE(UrlHasCredentials("s3://u:p@h"));
  EXPECT_TRUE(UrlHasCredentials("http://h/?token=x"));
  EXPECT_FALSE(UrlHasCredentials("http://h/?page=x"));
}

TEST(RedactAfterKey, KeepsTheNameAndHidesWhatFollows) {
  EXPECT_EQ(RedactAfterKey("database.password:hunter2"), "database.password:***");
  EXPECT_EQ(RedactAfterKey("Authorization Bearer abc"), "Authorization ***");
  EXPECT_EQ(RedactAfterKey("=hunter2"), "=***");
  EXPECT_EQ(RedactAfterKey("training.layers[0]"), "training.layers[0]");
  EXPECT_EQ(RedactAfterKey("debug:"), "debug:");
  EXPECT_EQ(RedactAfterKey("a/b"), "a***");
  EXPECT_EQ(RedactAfterKey(""), "");
}

}  // namespace
}  // namespace esper
