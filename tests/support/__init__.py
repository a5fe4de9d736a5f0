"""Helpers the tests share: feed writers, corpora, servers, validators and strategies.

Importable as `support.NAME` because pytest puts tests/ on sys.path (rootdir conftest, no
package above it).
"""
